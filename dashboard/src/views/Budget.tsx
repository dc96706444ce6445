import { useState } from 'react';
import { useQuery } from 'urql';
import { BudgetDocument, type SpendLineFieldsFragment } from '../generated/graphql';
import { Chart, ErrorBox, SelectField, Tile, ViewRoot, useI18n, useViewReady } from '../components';
import { linearYearEndForecast } from '../logic';

function SpendTable(props: { id: string; title: string; lines: readonly SpendLineFieldsFragment[] }) {
  const { t, number, euros } = useI18n();
  return (
    <div className="spend">
      <Chart
        id={`spend-${props.id}`}
        title={props.title}
        format={euros}
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

/** Spend and commitments against the yearly budget and the people objective, with a linear forecast. */
export function Budget(props: { initialYear: number }) {
  const { t, euros, number, percent } = useI18n();
  const [year, setYear] = useState(props.initialYear);
  const [result] = useQuery({ query: BudgetDocument, variables: { year } });
  const f = result.data?.financeSummary;
  useViewReady('budget', Boolean(f) || Boolean(result.error));
  const thisYear = new Date().getUTCFullYear();
  const years = Array.from(new Set([thisYear, thisYear - 1, thisYear - 2, props.initialYear, year])).sort();
  const forecast = f ? linearYearEndForecast(f.committedCents, f.year, new Date()) : null;
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
      <ErrorBox error={result.error} />
      {f && (
        <>
          <div className="tiles">
            <Tile id="budgetCents" label={t('budget.budget')} value={f.budgetCents} format={euros} />
            <Tile id="committedCents" label={t('budget.committed')} value={f.committedCents} format={euros} />
            <Tile id="disbursedCents" label={t('budget.disbursed')} value={f.disbursedCents} format={euros} />
            <Tile id="availableCents" label={t('budget.available')} value={f.availableCents} format={euros} />
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
