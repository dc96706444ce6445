import { useEffect } from 'react';
import { useQuery, useSubscription } from 'urql';
import { CaseLiveDocument, CaseUpdatesDocument } from '../generated/graphql';
import { ErrorBox, ViewRoot, useI18n, useViewReady } from '../components';

/** One case, live: its steps, its plan lines budgeted / delivered / paid, its messages; refetched on each event. */
export function CaseView(props: { caseId: string }) {
  const { t, dateTime, date, euros } = useI18n();
  const [result, refetch] = useQuery({ query: CaseLiveDocument, variables: { id: props.caseId } });
  const [events] = useSubscription({ query: CaseUpdatesDocument, variables: { caseIds: [props.caseId] } });
  const lastEvent = events.data?.caseEvents.id;
  useEffect(() => {
    if (lastEvent) refetch({ requestPolicy: 'network-only' });
  }, [lastEvent, refetch]);
  const c = result.data?.case;
  useViewReady('case', Boolean(result.data) || Boolean(result.error));
  const paid = new Map((c?.paidByPlanLine ?? []).map((p) => [p.lineId, p.paidCents]));
  return (
    <ViewRoot
      name="case"
      title={c ? t('case.title', { reference: c.caseReference }) : t('worklist.case')}
      busy={result.fetching && !result.data}
    >
      <p>
        <a href="#/worklist">{t('case.back')}</a>
      </p>
      <ErrorBox error={result.error} />
      {result.data && !c && <p>{t('case.notFound')}</p>}
      {c && (
        <>
          <p data-testid="case-status" data-value={c.status}>
            {c.status} · {c.sendingMemberState.code} · {c.countryOfOrigin.code} · {c.partner?.id ?? '—'}
          </p>
          <h3>{t('case.timeline')}</h3>
          <ol data-testid="case-timeline">
            {c.history.map((h) => (
              <li key={h.version}>
                <time dateTime={h.at}>{dateTime(h.at)}</time> · {h.transition} · {h.from ?? '—'} → {h.to}
              </li>
            ))}
          </ol>
          <h3>{t('case.plan')}</h3>
          {!c.reintegrationPlan ? (
            <p>{t('case.noPlan')}</p>
          ) : (
            <table data-testid="case-plan">
              <caption>{t('case.plan')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('case.line')}</th>
                  <th scope="col">{t('case.package')}</th>
                  <th scope="col">{t('case.category')}</th>
                  <th scope="col">{t('case.budgeted')}</th>
                  <th scope="col">{t('case.delivered')}</th>
                  <th scope="col">{t('case.paid')}</th>
                </tr>
              </thead>
              <tbody>
                {c.reintegrationPlan.lines.map((l) => (
                  <tr key={l.lineId}>
                    <th scope="row">{l.lineId}</th>
                    <td>{l.package}</td>
                    <td>{l.category}</td>
                    <td data-value={l.budgetCents}>{euros(l.budgetCents)}</td>
                    <td>
                      {l.status}
                      {l.deliveredOn ? ` · ${date(l.deliveredOn)}` : ''}
                    </td>
                    <td data-value={paid.get(l.lineId) ?? 0}>{euros(paid.get(l.lineId) ?? 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>{t('case.messages')}</h3>
          {!c.messages || c.messages.edges.length === 0 ? (
            <p>{t('case.noMessages')}</p>
          ) : (
            <ul data-testid="case-messages">
              {c.messages.edges.map(({ node }) => (
                <li key={node.id}>
                  <time dateTime={node.postedAt}>{dateTime(node.postedAt)}</time> · {node.authorRole} · {node.topic}
                  {node.body && <p>{node.body}</p>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </ViewRoot>
  );
}
