import { useState } from 'react';
import { useQuery } from 'urql';
import {
  SustainabilityDocument,
  SustainabilityIndicatorsDocument,
  type IndicatorScopeKind,
} from '../generated/graphql';
import { Chart, ErrorBox, SelectField, Suppressed, ViewRoot, useI18n, useViewReady } from '../components';

const PERSPECTIVES: IndicatorScopeKind[] = ['COUNTRY_OF_ORIGIN', 'PARTNER'];

/** Dimension scores (the mean-score indicators) over time, per country or partner. */
export function Sustainability() {
  const { t, number } = useI18n();
  const [perspective, setPerspective] = useState<IndicatorScopeKind>('COUNTRY_OF_ORIGIN');
  const [chosen, setChosen] = useState('');
  const [defs] = useQuery({ query: SustainabilityIndicatorsDocument });
  const scores = (defs.data?.indicators ?? []).filter((d) => d.measure === 'MEAN_SCORE');
  const indicator = chosen || scores[0]?.id || '';
  const [result] = useQuery({
    query: SustainabilityDocument,
    variables: { indicator, perspective },
    pause: !indicator,
  });
  const values = result.data?.indicatorValues;
  const noIndicator = Boolean(defs.data) && scores.length === 0;
  useViewReady('sustainability', Boolean(values) || noIndicator || Boolean(result.error ?? defs.error));
  const periods = Array.from(new Set((values ?? []).map((v) => v.period))).sort();
  const keys = Array.from(new Set((values ?? []).map((v) => v.scope.key ?? ''))).sort();
  const cell = new Map((values ?? []).map((v) => [`${v.scope.key ?? ''}|${v.period}`, v]));
  const latest = periods[periods.length - 1];
  const score = (n: number) => number(n, { maximumFractionDigits: 2 });
  return (
    <ViewRoot
      name="sustainability"
      title={t('sustainability.title')}
      busy={(defs.fetching || result.fetching) && !values}
    >
      <p className="note">{t('sustainability.explain')}</p>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('sustainability.title')}>
        <SelectField
          testid="filter-indicator"
          label={t('filter.indicator')}
          value={indicator}
          onChange={setChosen}
          options={scores.map((s) => ({ value: s.id, label: s.name }))}
        />
        <SelectField
          testid="filter-perspective"
          label={t('filter.perspective')}
          value={perspective}
          onChange={(v) => setPerspective(v as IndicatorScopeKind)}
          options={PERSPECTIVES.map((p) => ({ value: p, label: t(`perspective.${p}`) }))}
        />
      </form>
      <ErrorBox error={defs.error ?? result.error} />
      {noIndicator && <p>{t('sustainability.noIndicator')}</p>}
      {values && (
        <>
          {latest && (
            <Chart
              id="sustainability-latest"
              title={`${scores.find((s) => s.id === indicator)?.name ?? indicator} · ${latest}`}
              format={score}
              rows={keys.map((k) => {
                const v = cell.get(`${k}|${latest}`);
                return { key: k, value: v?.value ?? null, suppressed: v?.status === 'WITHHELD' };
              })}
            />
          )}
          <table data-testid="sustainability-table">
            <caption>{t('sustainability.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t(`perspective.${perspective}`)}</th>
                {periods.map((p) => (
                  <th scope="col" key={p}>
                    {p}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  {periods.map((p) => {
                    const v = cell.get(`${k}|${p}`);
                    return (
                      <td key={p} data-testid={`score-${k}-${p}`} data-value={v?.value ?? ''}>
                        {v ? v.value === null ? v.status === 'WITHHELD' ? <Suppressed /> : '—' : score(v.value) : ''}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {values.length === 0 && <p>{t('common.none')}</p>}
        </>
      )}
    </ViewRoot>
  );
}
