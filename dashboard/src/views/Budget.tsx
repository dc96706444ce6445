import { useState } from 'react';
import { useQuery } from 'urql';
import { BudgetDocument, FinanceYearsDocument, type SpendLineFieldsFragment } from '../generated/graphql';
import { Chart, ErrorBox, SelectField, Tile, ViewRoot, useI18n, useViewReady } from '../components';
import { budgetYear, budgetYearOptions, linearYearEndForecast } from '../logic';

function SpendTable(props: { id: string; title: string; lines: readonly SpendLineFieldsFragment[] }) {
  const { t, number, euros } = useI18n();
  return (
    <div className="spend">
      {/* The graph counts cents; the chart plots euros, as the tables write them. */}
      <Chart
        id={`spend-${props.id}`}
        title={t('budget.committedChart', { title: props.title })}
        format={euros}
        plotScale={100}
        axisFormat={(plotted) => number(plotted, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 })}
        rows={props.lines.map((l) => ({ key: l.key, value: l.committedCents }))}
      />
      <table data-testid={`spend-${props.id}`}>
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">{t('common.key')}</th>
            <th scope="col">{t('budget.colPeople')}</th>
            <th scope="col">{t('budget.colCommitted')}</th>
            <th scope="col">{t('budget.colDisbursed')}</th>
          </tr>
        </thead>
        <tbody>
          {props.lines.map((l) => (
            <tr key={l.key} data-testid={`spend-${props.id}-${l.key}`} data-value={l.committedCents}>
              <th scope="row">{l.key}</th>
              <td>{number(l.people)}</td>
              <td>{euros(l.committedCents)}</td>
              <td>{euros(l.disbursedCents)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Spend and commitments against the yearly budget and the people objective, with a linear forecast.
 * Opens on the year the address asks for, else the latest year the graph has financial data for.
 */
export function Budget(props: { askedYear: number | null }) {
  const { t } = useI18n();
  const [years] = useQuery({ query: FinanceYearsDocument, pause: props.askedYear !== null });
  useViewReady('budget', Boolean(years.error));
  if (props.askedYear === null && !years.data && !years.error)
    return (
      <ViewRoot name="budget" title={t('budget.title')} busy>
        {null}
      </ViewRoot>
    );
  return <BudgetYear asked={props.askedYear} yearsWithData={years.data?.financeYears ?? []} error={years.error} />;
}

function BudgetYear(props: {
  asked: number | null;
  yearsWithData: readonly number[];
  error: Parameters<typeof ErrorBox>[0]['error'];
}) {
  const { t, euros, number, percent } = useI18n();
  const [opened] = useState(() => budgetYear(props.asked, props.yearsWithData, new Date()));
  const [year, setYear] = useState(opened.year);
  const [result] = useQuery({ query: BudgetDocument, variables: { year } });
  const f = result.data?.financeSummary;
  useViewReady('budget', Boolean(f) || Boolean(result.error));
  const years = budgetYearOptions(props.yearsWithData, year, new Date());
  const forecast = f ? linearYearEndForecast(f.committedCents, f.year, new Date()) : null;
  const why =
    year !== opened.year || opened.reason === 'asked'
      ? null
      : t(opened.reason === 'latest' ? 'budget.yearLatest' : 'budget.yearNone', { year });
  return (
    <ViewRoot name="budget" title={t('budget.title')} busy={result.fetching && !f}>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('budget.title')}>
        <SelectField
          testid="filter-year"
          label={t('filter.year')}
          value={String(year)}
          onChange={(v) => setYear(Number(v))}
          options={years.map((y) => ({ value: String(y), label: String(y) }))}
        />
      </form>
      {why && (
        <p className="note" data-testid="budget-year-note" data-reason={opened.reason}>
          {why}
        </p>
      )}
      <ErrorBox error={props.error ?? result.error} />
      {f && (
        <>
          <div className="tiles">
            <Tile
              id="budgetCents"
              label={t('budget.budget')}
              value={f.budgetCents}
              format={euros}
              note={t(f.budgetCents === null ? 'budget.budgetNotSet' : 'budget.budgetSource', { year: f.year })}
            />
            <Tile id="committedCents" label={t('budget.committed')} value={f.committedCents} format={euros} />
            <Tile id="disbursedCents" label={t('budget.disbursed')} value={f.disbursedCents} format={euros} />
            <Tile
              id="availableCents"
              label={t('budget.available')}
              value={f.availableCents}
              format={euros}
              note={f.availableCents === null ? t('budget.availableNeedsBudget') : undefined}
            />
            <Tile id="peopleSupported" label={t('budget.people')} value={f.peopleSupported} format={number} />
            <Tile id="objectivePeople" label={t('budget.objective')} value={f.objectivePeople} format={number} />
            <Tile id="objectiveShare" label={t('budget.objectiveShare')} value={f.objectiveShare} format={percent} />
            <Tile
              id="forecastCents"
              label={t('budget.forecast')}
              value={forecast}
              format={euros}
              note={t('budget.forecastExplain')}
            />
          </div>
          <SpendTable id="memberState" title={t('budget.byMemberState')} lines={f.byMemberState} />
          <SpendTable id="country" title={t('budget.byCountry')} lines={f.byCountryOfOrigin} />
          <SpendTable id="partner" title={t('budget.byPartner')} lines={f.byPartner} />
          <SpendTable id="package" title={t('budget.byPackage')} lines={f.byPackage} />
        </>
      )}
    </ViewRoot>
  );
}
