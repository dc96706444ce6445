import { useState } from 'react';
import { useQuery } from 'urql';
import { DataQualityDocument, FilterOptionsDocument } from '../generated/graphql';
import { ErrorBox, SelectField, Tile, ViewRoot, useI18n, usePrincipal, useViewReady } from '../components';

/** A Member State's data quality, as far as the graph lets this principal read it. */
export function DataQuality() {
  const { t, percent, number } = useI18n();
  const principal = usePrincipal();
  const [options] = useQuery({ query: FilterOptionsDocument });
  const [chosen, setChosen] = useState('');
  const memberState = chosen || principal?.memberState || options.data?.memberStates[0]?.code || '';
  const [result] = useQuery({ query: DataQualityDocument, variables: { memberState }, pause: !memberState });
  const q = result.data?.dataQuality;
  useViewReady('data-quality', Boolean(q) || Boolean(result.error ?? options.error));
  return (
    <ViewRoot name="data-quality" title={t('dataQuality.title')} busy={(options.fetching || result.fetching) && !q}>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('dataQuality.title')}>
        <SelectField
          testid="filter-memberState"
          label={t('filter.memberState')}
          value={memberState}
          onChange={setChosen}
          options={(options.data?.memberStates ?? []).map((m) => ({ value: m.code, label: m.name }))}
        />
      </form>
      <ErrorBox error={options.error ?? result.error} />
      {q && (
        <>
          <div className="tiles">
            <Tile id="recordsReceived" label={t('dataQuality.received')} value={q.recordsReceived} />
            <Tile id="recordsRejected" label={t('dataQuality.rejected')} value={q.recordsRejected} />
            <Tile id="rejectedShare" label={t('dataQuality.rejectedShare')} value={q.rejectedShare} format={percent} />
            <Tile id="recordsWithGaps" label={t('dataQuality.withGaps')} value={q.recordsWithGaps} />
            <Tile id="gapShare" label={t('dataQuality.gapShare')} value={q.gapShare} format={percent} />
            <Tile id="lateInsertions" label={t('dataQuality.late')} value={q.lateInsertions} />
          </div>
          <table data-testid="dq-fields">
            <caption>{t('dataQuality.fields')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dataQuality.field')}</th>
                <th scope="col">{t('dataQuality.kind')}</th>
                <th scope="col">{t('dataQuality.records')}</th>
                <th scope="col">{t('dataQuality.share')}</th>
              </tr>
            </thead>
            <tbody>
              {q.fields.map((f) => (
                <tr key={`${f.field}|${f.kind}`}>
                  <th scope="row">{f.field}</th>
                  <td>{f.kind}</td>
                  <td>{number(f.records)}</td>
                  <td>{percent(f.share)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table data-testid="dq-flags">
            <caption>{t('dataQuality.flags')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dataQuality.flag')}</th>
                <th scope="col">{t('dataQuality.count')}</th>
              </tr>
            </thead>
            <tbody>
              {q.windowFlags.map((f) => (
                <tr key={f.code}>
                  <th scope="row">{f.code}</th>
                  <td>{number(f.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </ViewRoot>
  );
}
