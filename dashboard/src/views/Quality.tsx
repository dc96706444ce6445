import { useState } from 'react';
import { useQuery } from 'urql';
import { QualityBreachesDocument, QualityDocument, type IndicatorScopeKind } from '../generated/graphql';
import { ErrorBox, SelectField, Suppressed, ViewRoot, useI18n, useViewReady } from '../components';

const PERSPECTIVES: IndicatorScopeKind[] = ['PARTNER', 'COUNTRY_OF_ORIGIN', 'MEMBER_STATE', 'PROGRAMME'];
const CASE_FILTER_OF: Partial<Record<IndicatorScopeKind, string>> = {
  PARTNER: 'partners',
  COUNTRY_OF_ORIGIN: 'countriesOfOrigin',
  MEMBER_STATE: 'memberStates',
};

/** Each indicator against its minimum standard and target per scope; breaches highlighted, linked to cases. */
export function Quality() {
  const { t, number } = useI18n();
  const [perspective, setPerspective] = useState<IndicatorScopeKind>('PARTNER');
  const [period, setPeriod] = useState('');
  const [draftPeriod, setDraftPeriod] = useState('');
  const [result] = useQuery({
    query: QualityDocument,
    variables: { perspective, period: period || undefined },
  });
  const [breaches] = useQuery({ query: QualityBreachesDocument });
  const data = result.data;
  useViewReady('quality', Boolean(data ?? result.error) && Boolean(breaches.data ?? breaches.error));
  const definitions = new Map((data?.indicators ?? []).map((d) => [d.id, d]));
  const fmt = (v: number | null | undefined, unit: string | undefined) =>
    v === null || v === undefined
      ? null
      : unit === 'SHARE'
        ? number(v, { style: 'percent', maximumFractionDigits: 1 })
        : number(v, { maximumFractionDigits: 2 });
  const caseLink = (kind: IndicatorScopeKind, key: string | null) => {
    const filter = CASE_FILTER_OF[kind];
    return filter && key ? `#/cases?${new URLSearchParams({ [filter]: key }).toString()}` : null;
  };
  return (
    <ViewRoot name="quality" title={t('quality.title')} busy={result.fetching && !data}>
      <form
        className="filters"
        aria-label={t('quality.title')}
        onSubmit={(e) => {
          e.preventDefault();
          setPeriod(/^\d{4}(-\d{2})?$/.test(draftPeriod.trim()) ? draftPeriod.trim() : '');
        }}
      >
        <SelectField
          testid="filter-perspective"
          label={t('filter.perspective')}
          value={perspective}
          onChange={(v) => setPerspective(v as IndicatorScopeKind)}
          options={PERSPECTIVES.map((p) => ({ value: p, label: t(`perspective.${p}`) }))}
        />
        <div className="field">
          <label htmlFor="quality-period">{t('filter.period')}</label>
          <input
            id="quality-period"
            data-testid="filter-period"
            value={draftPeriod}
            maxLength={7}
            pattern="\d{4}(-\d{2})?"
            onChange={(e) => setDraftPeriod(e.target.value)}
          />
        </div>
        <button type="submit">{t('filter.apply')}</button>
      </form>
      <ErrorBox error={result.error} />
      {data && (
        <>
          <table data-testid="quality-values">
            <caption>{t('quality.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('quality.indicator')}</th>
                <th scope="col">{t('quality.scope')}</th>
                <th scope="col">{t('quality.period')}</th>
                <th scope="col">{t('quality.valueCol')}</th>
                <th scope="col">{t('quality.minimum')}</th>
                <th scope="col">{t('quality.target')}</th>
                <th scope="col">{t('quality.cases')}</th>
                <th scope="col">{t('quality.status')}</th>
              </tr>
            </thead>
            <tbody>
              {data.indicatorValues.map((v) => {
                const d = definitions.get(v.indicatorId);
                const shown = fmt(v.value, d?.unit);
                const id = `${v.indicatorId}|${v.scope.key ?? 'programme'}|${v.period}`;
                return (
                  <tr
                    key={id}
                    data-testid={`quality-${id}`}
                    data-value={v.value ?? ''}
                    data-status={v.status}
                    className={v.status === 'BREACHED' ? 'breached' : undefined}
                  >
                    <th scope="row">{d?.name ?? v.indicatorId}</th>
                    <td>{v.scope.key ?? t('perspective.PROGRAMME')}</td>
                    <td>{v.period}</td>
                    <td>{shown ?? (v.status === 'WITHHELD' ? <Suppressed /> : '—')}</td>
                    <td>{fmt(d?.minimumStandard, d?.unit)}</td>
                    <td>{fmt(d?.target, d?.unit)}</td>
                    <td>{v.casesCounted === null ? <Suppressed /> : number(v.casesCounted)}</td>
                    <td>
                      {v.status === 'BREACHED' ? <strong>{t('status.BREACHED')}</strong> : t(`status.${v.status}`)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <h3>{t('quality.breaches')}</h3>
      <ErrorBox error={breaches.error} />
      {breaches.data && (
        <>
          {breaches.data.indicatorBreaches.length === 0 ? (
            <p>{t('common.none')}</p>
          ) : (
            <ul data-testid="quality-breaches">
              {breaches.data.indicatorBreaches.map((b) => {
                const d = definitions.get(b.indicatorId);
                const link = caseLink(b.scope.perspective, b.scope.key);
                return (
                  <li key={b.id} className="breached" data-testid={`breach-${b.id}`}>
                    {d?.name ?? b.indicatorId} · {b.scope.key ?? t('perspective.PROGRAMME')} · {b.period}:{' '}
                    {fmt(b.value, d?.unit) ?? <Suppressed />} ({t('quality.minimum')} {fmt(b.minimumStandard, d?.unit)})
                    {link && (
                      <>
                        {' '}
                        <a href={link}>{t('quality.breachCases', { scope: b.scope.key ?? '' })}</a>
                      </>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </>
      )}
    </ViewRoot>
  );
}
