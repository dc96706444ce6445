import { MEMBER_STATE_CODES } from '../../../shared/domain.js';
import { badUserInput } from '../../../shared/errors.js';

/** A `memberState` argument, checked against the participating Member States. */
export function checkMemberState(code: string): string {
  if (!MEMBER_STATE_CODES.has(code)) {
    throw badUserInput(
      `${JSON.stringify(code).slice(0, 20)} is not a participating Member State (ISO 3166-1 alpha-2, capitals)`,
      'memberState',
    );
  }
  return code;
}
