import type DataLoader from 'dataloader';
import type { Principal } from '../../shared/auth.js';
import type { CaseEvent } from '../../shared/case-events/index.js';
import type { FinanceAccess } from './ledger/access.js';
import type { CaseFinanceDoc, DisbursementDoc, LedgerModels, SpendDoc } from './ledger/models.js';
import type { ReferenceChange } from '../cases/reference/stream.js';
import type { FinanceLoaders } from './tariffs/loaders.js';
import type { FinanceModels } from './tariffs/models.js';

/** What every resolver of the finance subgraph gets, built per request in subgraph.ts. */
export interface FinanceContext {
  principal: Principal | null;
  models: FinanceModels & LedgerModels;
  /** Appends events (disbursements) to the case event stream. */
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
  ledger: {
    caseById: DataLoader<string, CaseFinanceDoc | null>;
    disbursementsByCase: DataLoader<string, DisbursementDoc[]>;
    spendByYear: DataLoader<string, SpendDoc | null>;
  };
  loaders: FinanceLoaders;
  /** The access rules, applied in one place (ledger/access.ts). */
  access: FinanceAccess;
  /** Appends a tariff version to the reference-data stream the cases subgraph keeps its copy from. */
  publishReference: (change: ReferenceChange) => Promise<string>;
  /** Today, YYYY-MM-DD; injectable so tests are not date-dependent. */
  today: () => string;
}
