import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { FilterOptionsDocument, OverviewDocument, type StatisticsFilter } from '../generated/graphql';
import {
  Chart,
  ErrorBox,
  SelectField,
  SuppressionNote,
  Tile,
  ViewRoot,
  useI18n,
  useViewReady,
  type Row,
} from '../components';

type Counts = ReadonlyArray<{ key: string; count: number | null; suppressed: boolean }>;
const rows = (counts: Counts | undefined): Row[] =>
  (counts ?? []).map((c) => ({ key: c.key, value: c.count, suppressed: c.suppressed }));

/** The programme's statistics, as the graph answers them for this principal and filter. */
export function Overview() {
  const i18n = useI18n();
  const { t, number } = i18n;
  const [memberState, setMemberState] = useState('');
  const [country, setCountry] = useState('');
  const [partner, setPartner] = useState('');
  const [options] = useQuery({ query: FilterOptionsDocument });
  const filter = useMemo<StatisticsFilter | undefined>(() => {
    const f: StatisticsFilter = {};
    if (memberState) f.memberState = memberState;
    if (country) f.countryOfOrigin = country;
    if (partner) f.partner = partner;
    return Object.keys(f).length ? f : undefined;
  }, [memberState, country, partner]);
  const [result] = useQuery({ query: OverviewDocument, variables: { filter } });
  const s = result.data?.statistics;
  const busy = result.fetching && !s;
  useViewReady('overview', Boolean(s) || Boolean(result.error));
  const all = { value: '', label: t('common.all') };
  const byCountry = rows(s?.casesByCountryOfOrigin).sort((a, b) => (b.value ?? -1) - (a.value ?? -1));
  const oneDecimal = (n: number) => number(n, { maximumFractionDigits: 1 });
  return (
    <ViewRoot name="overview" title={t('overview.title')} busy={busy}>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('overview.title')}>
        <SelectField
          testid="filter-memberState"
          label={t('filter.memberState')}
          value={memberState}
          onChange={setMemberState}
          options={[all, ...(options.data?.memberStates ?? []).map((m) => ({ value: m.code, label: m.name }))]}
        />
        <SelectField
          testid="filter-country"
          label={t('filter.country')}
          value={country}
          onChange={setCountry}
          options={[all, ...(options.data?.countriesOfOrigin ?? []).map((c) => ({ value: c.code, label: c.name }))]}
        />
        <SelectField
          testid="filter-partner"
          label={t('filter.partner')}
          value={partner}
          onChange={setPartner}
          options={[all, ...(options.data?.partners ?? []).map((p) => ({ value: p.id, label: p.name }))]}
        />
      </form>
      <p className="note">{t('filter.unsupported')}</p>
      <ErrorBox error={result.error} />
      {s && (
        <>
          <p data-testid="overview-scope">{t('overview.scope', { scope: s.scope })}</p>
          <div className="tiles">
            <Tile id="totalCases" label={t('overview.totalCases')} value={s.totalCases} suppressed={s.suppressed} />
            <Tile
              id="totalReturnees"
              label={t('overview.totalReturnees')}
              value={s.totalReturnees}
              suppressed={s.suppressed}
            />
            <Tile id="adults" label={t('overview.adults')} value={s.adults} suppressed={s.suppressed} />
            <Tile id="minors" label={t('overview.minors')} value={s.minors} suppressed={s.suppressed} />
            <Tile
              id="averageAge"
              label={t('overview.averageAge')}
              value={s.averageMainApplicantAge}
              format={oneDecimal}
              suppressed={s.suppressed}
            />
            <Tile
              id="averageFamily"
              label={t('overview.averageFamily')}
              value={s.averageFamilyComposition}
              format={oneDecimal}
              suppressed={s.suppressed}
            />
          </div>
          {s.suppressed && <SuppressionNote threshold={s.suppressionThreshold} />}
          <div className="charts">
            <Chart id="byMemberState" title={t('overview.byMemberState')} rows={rows(s.casesByMemberState)} />
            <Chart id="perMonth" kind="line" title={t('overview.perMonth')} rows={rows(s.casesPerMonth)} />
            <Chart id="byReturnType" title={t('overview.byReturnType')} rows={rows(s.casesByReturnType)} />
            <Chart id="byPackage" title={t('overview.byPackage')} rows={rows(s.casesByPackage)} />
            <Chart id="byCountry" title={t('overview.byCountry')} rows={byCountry} />
          </div>
        </>
      )}
    </ViewRoot>
  );
}
