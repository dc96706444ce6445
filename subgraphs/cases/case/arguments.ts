import { badUserInput } from '../../../shared/errors.js';
import { RELEASED_REFERENCE_LISTS } from '../reference/index.js';

/**
 * A `memberState` argument, checked against the participating Member States: pass the lists in
 * force (`referenceLists(connection)`), so a Member State the support desk added is known
 * without a release.
 */
export function checkMemberState(
  code: string,
  participating: ReadonlySet<string> = RELEASED_REFERENCE_LISTS.memberStates,
): string {
  if (!participating.has(code)) {
    throw badUserInput(
      `${JSON.stringify(code).slice(0, 20)} is not a participating Member State (ISO 3166-1 alpha-2, capitals)`,
      'memberState',
    );
  }
  return code;
}
