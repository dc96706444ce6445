import { useState } from 'react';
import { useQuery } from 'urql';
import { WorklistDocument, type WorklistKind } from '../generated/graphql';
import { ErrorBox, SelectField, Tile, ViewRoot, useI18n, useViewReady } from '../components';

const KINDS: WorklistKind[] = ['AWAITING_ME', 'OVERDUE', 'DUE_SOON'];

/** What awaits the signed-in Member State or partner; each item opens the case's live view. */
export function Worklist() {
  const { t, date } = useI18n();
  const [kind, setKind] = useState<WorklistKind>('AWAITING_ME');
  const [result] = useQuery({ query: WorklistDocument, variables: { kind, first: 100 } });
  const list = result.data?.myWorklist;
  useViewReady('worklist', Boolean(list) || Boolean(result.error));
  return (
    <ViewRoot name="worklist" title={t('worklist.title')} busy={result.fetching && !list}>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('worklist.title')}>
        <SelectField
          testid="filter-kind"
          label={t('filter.kind')}
          value={kind}
          onChange={(v) => setKind(v as WorklistKind)}
          options={KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
        />
      </form>
      <ErrorBox error={result.error} />
      {list && (
        <>
          <div className="tiles">
            <Tile id="worklistCount" label={t('worklist.count')} value={list.totalCount} />
          </div>
          {list.edges.length === 0 ? (
            <p>{t('common.none')}</p>
          ) : (
            <table data-testid="worklist-items">
              <caption>{t(`kind.${kind}`)}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('worklist.case')}</th>
                  <th scope="col">{t('worklist.awaiting')}</th>
                  <th scope="col">{t('worklist.awaitedBy')}</th>
                  <th scope="col">{t('worklist.dueOn')}</th>
                </tr>
              </thead>
              <tbody>
                {list.edges.map(({ node }) => (
                  <tr key={node.caseId} className={node.overdue ? 'breached' : undefined}>
                    <th scope="row">
                      <a href={`#/case/${encodeURIComponent(node.caseId)}`} data-testid={`worklist-${node.caseId}`}>
                        {node.case?.caseReference ?? node.caseId}
                      </a>
                    </th>
                    <td>{node.awaiting}</td>
                    <td>{node.awaitedBy}</td>
                    <td>
                      {node.dueOn ? date(node.dueOn) : '—'}
                      {node.overdue && <strong> · {t('worklist.overdue')}</strong>}
                      {!node.overdue && node.dueSoon && <span> · {t('worklist.dueSoon')}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </ViewRoot>
  );
}
