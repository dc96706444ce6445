import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import {
  FilterOptionsDocument,
  OverviewDocument,
  type StatisticsFilter,
  type StatisticsNarrowing,
} from '../generated/graphql';
import { overviewNarrowing } from '../logic';
import {
  Chart,
  ErrorBox,
  MonthField,
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

const PACKAGES = ['POST_ARRIVAL', 'CHARTER_ARRIVAL', 'POST_RETURN'] as const;

/**
 * The programme's statistics, as the graph answers them for this principal and filter; a period and
 * a package narrow them in the graph (`narrow`), never here.
 */
export function Overview() {
  const i18n = useI18n();
  const { t, number } = i18n;
  const [memberState, setMemberState] = useState('');
  const [country, setCountry] = useState('');
  const [partner, setPartner] = useState('');
  const [fromMonth, setFromMonth] = useState('');
  const [toMonth, setToMonth] = useState('');
  const [pkg, setPkg] = useState('');
  const [options] = useQuery({ query: FilterOptionsDocument });
  const narrowing = useMemo(() => overviewNarrowing(fromMonth, toMonth, pkg), [fromMonth, toMonth, pkg]);
  // While the period is not valid the figures stay those last narrowed validly.
  const [narrow, setNarrow] = useState<StatisticsNarrowing | undefined>(undefined);
  useEffect(() => {
    if (narrowing.ok) setNarrow(narrowing.narrow as StatisticsNarrowing | undefined);
  }, [narrowing]);
  const filter = useMemo<StatisticsFilter | undefined>(() => {
    const f: StatisticsFilter = {};
    if (memberState) f.memberState = memberState;
    if (country) f.countryOfOrigin = country;
    if (partner) f.partner = partner;
    return Object.keys(f).length ? f : undefined;
  }, [memberState, country, partner]);
  const [result] = useQuery({ query: OverviewDocument, variables: { filter, narrow } });
  const s = result.data?.statistics;
  const busy = result.fetching && !s;
  useViewReady('overview', Boolean(s) || Boolean(result.error));
  const all = { value: '', label: t('common.all') };
  const byCountry = rows(s?.casesByCountryOfOrigin).sort((a, b) => (b.value ?? -1) - (a.value ?? -1));
  const oneDecimal = (n: number) => number(n, { maximumFractionDigits: 1 });
  const notNarrowed = s?.narrowedTo ? t('overview.notNarrowed') : undefined;
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
        <MonthField testid="filter-fromMonth" label={t('filter.fromMonth')} value={fromMonth} onChange={setFromMonth} />
        <MonthField testid="filter-toMonth" label={t('filter.toMonth')} value={toMonth} onChange={setToMonth} />
        <SelectField
          testid="filter-package"
          label={t('filter.package')}
          value={pkg}
          onChange={setPkg}
          options={[all, ...PACKAGES.map((p) => ({ value: p, label: t(`package.${p}`) }))]}
        />
      </form>
      {!narrowing.ok && (
        <p className="note" role="alert" data-testid="filter-problem">
          {t(`filter.${narrowing.problem}`)}
        </p>
      )}
      {s?.narrowedTo && (
        <p className="note" data-testid="overview-narrowed">
          {t('filter.narrowed', {
            period: [s.narrowedTo.fromMonth, s.narrowedTo.toMonth].map((m) => m ?? t('filter.anyMonth')).join(' – '),
            package: s.narrowedTo.package ? `, ${t(`package.${s.narrowedTo.package}`)}` : '',
          })}
        </p>
      )}
      {s && s.unavailableBreakdowns.length > 0 && (
        <p className="note" data-testid="overview-unavailable">
          {t('filter.unavailable', { dimensions: s.unavailableBreakdowns.join(', ') })}
        </p>
      )}
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
            <Tile
              id="adults"
              label={t('overview.adults')}
              value={s.adults}
              suppressed={s.suppressed && !s.narrowedTo}
              note={notNarrowed}
            />
            <Tile
              id="minors"
              label={t('overview.minors')}
              value={s.minors}
              suppressed={s.suppressed && !s.narrowedTo}
              note={notNarrowed}
            />
            <Tile
              id="averageAge"
              label={t('overview.averageAge')}
              value={s.averageMainApplicantAge}
              format={oneDecimal}
              suppressed={s.suppressed && !s.narrowedTo}
              note={notNarrowed}
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
