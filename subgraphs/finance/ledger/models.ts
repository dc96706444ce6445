import { Schema, type Connection, type Model } from 'mongoose';
import type { Package, ReturnType } from '../../../shared/domain.js';
import type { EntitlementLine } from '../tariffs/rules.js';

/** Finance's view of one case, kept from the case events (finance never reads the cases database). */
export interface CaseFinanceDoc {
  _id: string;
  memberState: string;
  countryOfOrigin: string;
  partnerId: string | null;
  packages: Package[];
  returnType: ReturnType;
  familySize: number;
  departureDate: string | null;
  entitlementCents: number;
  entitlementLines: EntitlementLine[];
  committedCents: number;
  committedAt: Date | null;
  disbursedCents: number;
  // Plans and money (#15, part B), from the case events (absent on entries written before).
  status?: string;
  accepted?: boolean;
  eligibilityOutcome?: string | null;
  arrivalDate?: string | null;
  charterFlight?: boolean;
  /** The lines of the plan in force (no free text); null without an approved plan. */
  planLines?: Array<{ lineId: string; package: Package; budgetCents: number; status: string }> | null;
  lastEventId: string;
  /** The last disbursement event added to disbursedCents (the projector adds only if it is still the one read). */
  lastDisbursedEventId?: string | null;
}

/**
 * One disbursement. `_id` is `<caseId>:<seq>` and each carries the running total, so two
 * concurrent reports cannot both pass the entitlement check: the second insert fails on
 * the unique `_id` and is retried against the new total.
 */
export interface DisbursementDoc {
  _id: string;
  caseId: string;
  seq: number;
  kind: 'CASH' | 'IN_KIND';
  package: Package;
  /** The plan line it pays; null for a package the plan does not itemise. */
  planLineId?: string | null;
  date: string;
  amountCents: number;
  cumulativeCents: number;
  recordedAt: Date;
  recordedBy: string;
  partnerId: string;
}

/** Spend read model for one year: counters by dimension, kept by the finance projector. */
export interface SpendDoc {
  _id: string;
  lastEventId: string;
  [counter: string]: unknown;
}

export interface BudgetDoc {
  _id: string;
  amountCents: number;
  objectivePeople: number;
}

export interface ProjectionDoc {
  _id: string;
  lastEventId: string;
}

const caseFinanceSchema = new Schema<CaseFinanceDoc>(
  { _id: String },
  { collection: 'caseFinance', versionKey: false, strict: false },
);
const disbursementSchema = new Schema<DisbursementDoc>(
  { _id: String },
  { collection: 'disbursements', versionKey: false, strict: false },
);
disbursementSchema.index({ caseId: 1, seq: 1 }, { name: 'caseId_seq' });
const spendSchema = new Schema<SpendDoc>({ _id: String }, { collection: 'spend', versionKey: false, strict: false });
const budgetSchema = new Schema<BudgetDoc>(
  {
    _id: String,
    amountCents: { type: Number, required: true, min: 0 },
    objectivePeople: { type: Number, required: true, min: 0 },
  },
  { collection: 'budgets', versionKey: false },
);
const projectionSchema = new Schema<ProjectionDoc>(
  { _id: String, lastEventId: String },
  { collection: 'projections', versionKey: false },
);

export interface LedgerModels {
  CaseFinance: Model<CaseFinanceDoc>;
  Disbursement: Model<DisbursementDoc>;
  Spend: Model<SpendDoc>;
  Budget: Model<BudgetDoc>;
  Projection: Model<ProjectionDoc>;
}

export function ledgerModels(connection: Connection): LedgerModels {
  const get = <T>(name: string, schema: Schema<T>): Model<T> =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    CaseFinance: get('CaseFinance', caseFinanceSchema),
    Disbursement: get('Disbursement', disbursementSchema),
    Spend: get('Spend', spendSchema),
    Budget: get('Budget', budgetSchema),
    Projection: get('FinanceProjection', projectionSchema),
  };
}
