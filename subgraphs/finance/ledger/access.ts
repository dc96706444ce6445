import type DataLoader from 'dataloader';
import type { Principal } from '../../../shared/auth.js';
import { caseScope, inScope, mayReadFinanceAggregates, requirePrincipal } from '../../../shared/access.js';
import { caseNotFound, forbidden } from '../../../shared/errors.js';
import type { CaseFinanceDoc } from './models.js';

/**
 * Finance's one enforcement point. A case's money (commitment, disbursements, entitlement)
 * follows the case's own rule: its ledger entry names the owning Member State and the
 * assigned partner. The programme's aggregates follow shared/access.ts.
 */
export class FinanceAccess {
  constructor(
    private readonly principal: Principal | null,
    private readonly ledgerById: DataLoader<string, CaseFinanceDoc | null>,
  ) {}

  /** Refuses callers who read no case data at all (anonymous, the DPO). */
  readsCases(): void {
    const scope = caseScope(requirePrincipal(this.principal, 'Case money'));
    if (scope.kind === 'none') throw forbidden(`${this.principal!.role} does not read case data`);
  }

  /**
   * The case's ledger entry (null while nothing is recorded for it), or NOT_FOUND for a case
   * of another Member State or partner. Only the gateway reaches a subgraph, and it asks
   * about a case only after the cases subgraph served it to this principal.
   */
  async caseLedger(caseId: string): Promise<CaseFinanceDoc | null> {
    this.readsCases();
    const scope = caseScope(this.principal);
    const ledger = await this.ledgerById.load(caseId);
    if (scope.kind === 'all' || !ledger || inScope(scope, ledger)) return ledger;
    throw caseNotFound(caseId);
  }

  aggregates(what: string, partnerId?: string): void {
    const principal = requirePrincipal(this.principal, what);
    if (!mayReadFinanceAggregates(principal, partnerId)) throw forbidden(`${principal.role} does not read ${what}`);
  }
}
