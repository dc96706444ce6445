import { GraphQLScalarType, Kind, type GraphQLError } from 'graphql';
import type { Principal } from '../../../shared/auth.js';
import type { Package } from '../../../shared/domain.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { isCalendarDate } from '../../../shared/scalars.js';
import { mayReportDisbursements } from '../../../shared/access.js';
import {
  badUserInput,
  caseNotFound,
  codedError,
  conflict,
  entitlementExceeded,
  forbidden,
  principalRequired,
} from '../../../shared/errors.js';
import type { CaseFinanceDoc, DisbursementDoc, LedgerModels, SpendDoc } from './models.js';
import { disbursementRefusal, type DisbursementCase, type DisbursementRefusal } from './rules.js';

export const DEFAULT_OBJECTIVE_PEOPLE = 7_000;

function parseCents(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw badUserInput(`Cents must be an integer number of euro cents, got ${JSON.stringify(value)}`);
  }
  return value;
}

export const CentsScalar = new GraphQLScalarType({
  name: 'Cents',
  serialize: parseCents,
  parseValue: parseCents,
  parseLiteral: (ast) => parseCents(ast.kind === Kind.INT ? Number(ast.value) : undefined),
});

type Counters = Record<string, Record<string, number> | number | undefined>;
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** One dimension's spend line from a yearly spend document. */
export function spendLine(
  doc: SpendDoc | null,
  dimension: 'byMemberState' | 'byCountry' | 'byPartner' | 'byPackage',
  key: string,
) {
  const d = (doc ?? {}) as Record<string, Counters>;
  const pick = (group: string) => num((d[group]?.[dimension] as Record<string, number> | undefined)?.[key]);
  return { key, people: pick('people'), committedCents: pick('committed'), disbursedCents: pick('disbursed') };
}

function lines(doc: SpendDoc | null, dimension: 'byMemberState' | 'byCountry' | 'byPartner' | 'byPackage') {
  const d = (doc ?? {}) as Record<string, Counters>;
  const keys = new Set<string>();
  for (const group of ['people', 'committed', 'disbursed'])
    for (const key of Object.keys((d[group]?.[dimension] as object | undefined) ?? {})) keys.add(key);
  return [...keys]
    .sort()
    .map((key) => spendLine(doc, dimension, key))
    .filter((l) => l.people || l.committedCents || l.disbursedCents);
}

/** Longest a read of the years takes on the database. */
const YEARS_DB_TIMEOUT_MS = 5_000;

/** The distinct years among read-model ids (`"2024"`), most recent first; anything else is left out. */
export function yearsOf(ids: readonly unknown[]): number[] {
  const years = new Set<number>();
  for (const id of ids) {
    if (typeof id !== 'string' || !/^\d{4}$/.test(id)) continue;
    const year = Number(id);
    if (year >= 2000 && year <= 2100) years.add(year);
  }
  return [...years].sort((a, b) => b - a);
}

/** Years with financial data (spend recorded, or a budget set), most recent first. */
export async function financeYears(models: LedgerModels): Promise<number[]> {
  const [spend, budgets] = await Promise.all([
    models.Spend.find({}, { _id: 1 }).maxTimeMS(YEARS_DB_TIMEOUT_MS).lean<Array<{ _id: unknown }>>().exec(),
    models.Budget.find({}, { _id: 1 }).maxTimeMS(YEARS_DB_TIMEOUT_MS).lean<Array<{ _id: unknown }>>().exec(),
  ]);
  return yearsOf([...spend, ...budgets].map((d) => d._id));
}

export async function financeSummary(models: LedgerModels, year: number) {
  if (!Number.isInteger(year) || year < 2000 || year > 2100) {
    throw badUserInput(`year must be 2000 to 2100, got ${year}`, 'year');
  }
  const [doc, budget] = await Promise.all([
    models.Spend.findOne({ _id: String(year) })
      .lean<SpendDoc>()
      .exec(),
    models.Budget.findOne({ _id: String(year) })
      .lean()
      .exec(),
  ]);
  const d = (doc ?? {}) as Record<string, Counters>;
  const total = (group: string) => num(d[group]?.total);
  const objectivePeople = budget?.objectivePeople ?? DEFAULT_OBJECTIVE_PEOPLE;
  return {
    year,
    objectivePeople,
    peopleSupported: total('people'),
    objectiveShare: objectivePeople > 0 ? total('people') / objectivePeople : 0,
    budgetCents: budget?.amountCents ?? null,
    committedCents: total('committed'),
    disbursedCents: total('disbursed'),
    availableCents: budget ? budget.amountCents - total('committed') : null,
    byMemberState: lines(doc, 'byMemberState'),
    byCountryOfOrigin: lines(doc, 'byCountry'),
    byPartner: lines(doc, 'byPartner'),
    byPackage: lines(doc, 'byPackage'),
  };
}

export interface DisbursementInput {
  caseId: string;
  kind: 'CASH' | 'IN_KIND';
  package: Package;
  /** The plan line it pays: required for POST_RETURN and for a package the plan itemises. */
  planLineId?: string | null;
  date: string;
  amountCents: number;
}

/** A refusal of the money rules (rules.ts) as the graph reports it: its code, what, and the figures. */
function refused(refusal: DisbursementRefusal): GraphQLError {
  if (refusal.code === 'ENTITLEMENT_EXCEEDED') {
    const { message, package: pkg, entitlementCents, paidCents } = refusal;
    return entitlementExceeded(message, entitlementCents, paidCents, { package: pkg });
  }
  const { code, message, ...details } = refusal;
  return codedError(code, message, details);
}

/**
 * Records a disbursement by the case's assigned partner. The chain of `<case>:<seq>`
 * documents makes the entitlement check race-free; on a lost race it re-reads and retries.
 */
export async function recordDisbursement(
  models: LedgerModels,
  principal: Principal | null,
  input: DisbursementInput,
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>,
): Promise<DisbursementDoc> {
  if (!principal) throw principalRequired('recordDisbursement');
  // The role first, before the case is looked up: whether the case exists changes nothing for
  // a role that never reports disbursements.
  if (!mayReportDisbursements(principal)) throw forbidden('Disbursements are reported by the assigned partner');
  const notFound = () => caseNotFound(input.caseId.slice(0, 30));
  if (!/^[0-9a-f]{24}$/.test(input.caseId)) throw notFound();
  const ledger = await models.CaseFinance.findOne({ _id: input.caseId }).lean<CaseFinanceDoc>().exec();
  // Another partner's case is "not found", exactly as an unknown one: its existence does not leak.
  if (!ledger || principal.partnerId !== ledger.partnerId) throw notFound();
  if (!isCalendarDate(input.date)) throw badUserInput('date must be a calendar date YYYY-MM-DD', 'date');
  if (input.date > new Date().toISOString().slice(0, 10)) {
    throw badUserInput(`date ${input.date} is in the future`, 'date');
  }
  if (input.amountCents <= 0) throw badUserInput('amountCents must be positive', 'amountCents');
  if (input.amountCents > 100_000_000) throw badUserInput('amountCents must be at most 100000000', 'amountCents');
  const planLineId = input.planLineId ?? null;
  if (planLineId !== null && !/^L[1-9][0-9]{0,2}$/.test(planLineId)) {
    throw badUserInput('planLineId must be a plan line id, L1 to L999', 'planLineId');
  }
  const entitlementByPackage = new Map<Package, number>();
  for (const line of ledger.entitlementLines ?? [])
    entitlementByPackage.set(line.package, (entitlementByPackage.get(line.package) ?? 0) + line.amountCents);
  const facts: DisbursementCase = {
    status: ledger.status ?? '',
    eligibilityOutcome: ledger.eligibilityOutcome ?? null,
    packages: ledger.packages,
    entitlementByPackage,
    planLines: ledger.planLines ?? null,
    departureDate: ledger.departureDate,
    arrivalDate: ledger.arrivalDate ?? null,
    charterFlight: ledger.charterFlight ?? false,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    // Every earlier payment (the chain of `<case>:<seq>` documents): the caps are per package and per line.
    const paid = await models.Disbursement.find({ caseId: input.caseId })
      .sort({ seq: 1 })
      .lean<DisbursementDoc[]>()
      .exec();
    const last = paid.at(-1);
    const request = { package: input.package, planLineId, date: input.date, amountCents: input.amountCents };
    const refusal = disbursementRefusal(facts, request, paid);
    if (refusal) throw refused(refusal);
    const cumulative = (last?.cumulativeCents ?? 0) + input.amountCents;
    const seq = (last?.seq ?? 0) + 1;
    const doc: DisbursementDoc = {
      _id: `${input.caseId}:${seq}`,
      caseId: input.caseId,
      seq,
      kind: input.kind,
      package: input.package,
      planLineId,
      date: input.date,
      amountCents: input.amountCents,
      cumulativeCents: cumulative,
      recordedAt: new Date(),
      recordedBy: principal.subject,
      partnerId: principal.partnerId!,
    };
    try {
      await models.Disbursement.insertMany([doc], { lean: true });
    } catch (error) {
      if ((error as { code?: number }).code === 11000) continue; // another report won this seq: re-read
      throw error;
    }
    await publish([
      {
        type: 'case.disbursed',
        caseId: input.caseId,
        version: seq,
        at: doc.recordedAt.toISOString(),
        before: null,
        after: null,
        disbursement: {
          amountCents: input.amountCents,
          package: input.package,
          kind: input.kind,
          date: input.date,
          ...(planLineId ? { planLineId } : {}),
        },
        owner: {
          memberState: ledger.memberState,
          partnerId: ledger.partnerId,
          countryOfOrigin: ledger.countryOfOrigin,
        },
      },
    ]);
    return doc;
  }
  throw conflict('Too many concurrent disbursements for this case; retry');
}
