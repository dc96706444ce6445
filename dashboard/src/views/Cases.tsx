import { useQuery } from 'urql';
import { CaseListDocument, type CaseFilter } from '../generated/graphql';
import { ErrorBox, ViewRoot, useI18n, useViewReady } from '../components';

const LIST_KEYS = ['partners', 'countriesOfOrigin', 'memberStates'] as const;

/** The cases behind a breach's scope: the graph lists those this principal may see. */
export function Cases(props: { params: URLSearchParams }) {
  const { t } = useI18n();
  const filter: CaseFilter = {};
  for (const key of LIST_KEYS) {
    const value = props.params.get(key);
    if (value && /^[A-Za-z0-9-]{1,64}$/.test(value)) filter[key] = [value];
  }
  const [result] = useQuery({ query: CaseListDocument, variables: { filter, first: 50 } });
  const list = result.data?.cases;
  useViewReady('cases', Boolean(list) || Boolean(result.error));
  return (
    <ViewRoot name="cases" title={t('worklist.case')} busy={result.fetching && !list}>
      <ErrorBox error={result.error} />
      {list && (
        <ul data-testid="case-list" data-value={list.totalCount}>
          {list.edges.map(({ node }) => (
            <li key={node.id}>
              <a href={`#/case/${encodeURIComponent(node.id)}`}>{node.caseReference}</a> ·{' '}
              {node.sendingMemberState.code} · {node.countryOfOrigin.code} · {node.status}
            </li>
          ))}
        </ul>
      )}
    </ViewRoot>
  );
}
