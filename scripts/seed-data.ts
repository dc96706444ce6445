import type { Connection } from 'mongoose';
import { COUNTRIES_OF_ORIGIN, PACKAGES, PARTNERS, type Package } from '../shared/domain.js';
import { RELEASED_MEMBER_STATES } from '../subgraphs/coverage/released.js';
import { referenceCopyModel } from '../subgraphs/cases/reference/copy.js';
import { clearCollection, ensureIndexes } from '../shared/mongo.js';
import { caseIdOf, casesModels, packageSetOf } from '../subgraphs/cases/case/models.js';
import { feedModels } from '../subgraphs/cases/ingestion/index.js';
import { personalDataReadModel } from '../subgraphs/cases/data-protection/audit.js';
import { coverageModels } from '../subgraphs/coverage/models.js';
import { financeModels } from '../subgraphs/finance/tariffs/models.js';
import { PROGRAMME_TARIFFS } from '../subgraphs/finance/tariffs/rules.js';
import { partnersModels } from '../subgraphs/partners/models.js';
import type { Types } from 'mongoose';
import { addInto, contribution, factsOf, scopesOf } from '../subgraphs/cases/statistics/facts.js';
import type { CaseDoc } from '../subgraphs/cases/case/models.js';
import { entitlementOf } from '../subgraphs/finance/ledger/projection.js';
import { financeEffects } from '../subgraphs/finance/ledger/projector.js';
import type { CaseEvent } from '../shared/case-events/index.js';
import {
  ledgerModels,
  type CaseFinanceDoc,
  type DisbursementDoc,
  type LedgerModels,
} from '../subgraphs/finance/ledger/models.js';
import { generateCases, type DemoCase } from './demo/generate.js';
import { demoVisits, monitoringForCase, type DemoMonitoring, type MonitoredCase } from './demo/monitoring.js';
import type { Instrument } from '../subgraphs/cases/monitoring/instrument.js';
import { monitoringModels } from '../subgraphs/cases/monitoring/models.js';
import { assessmentEvent, complaintEvent } from '../subgraphs/cases/monitoring/records.js';

/** The package contents (docs/domain.md), which every contracted partner offers. */
const SERVICE_CATALOGUE: Array<{ package: Package; services: string[] }> = [
  {
    package: 'POST_ARRIVAL',
    services: [
      'Airport pick-up or reception',
      'Temporary accommodation',
      'In-country travel',
      'Referral for urgent medical care',
      'Special assistance for vulnerable people',
      'Cash',
    ],
  },
  {
    package: 'CHARTER_ARRIVAL',
    services: [
      'Cash',
      'Airport pick-up',
      'Onward transportation',
      'Housing upon arrival',
      'Medical assistance',
      'Family reunification',
    ],
  },
  {
    package: 'POST_RETURN',
    services: [
      'Business start-up',
      'Long-term housing',
      'Social, legal and medical support',
      'Job placement',
      'Schooling and language training',
      'Technical and vocational training',
      'Cash',
    ],
  },
];

export interface SeedConnections {
  cases: Connection;
  partners: Connection;
  coverage: Connection;
  finance: Connection;
}

/**
 * Reference data every environment needs: partners, countries, coverage, Member States, tariffs.
 * Upserts; safe to repeat.
 */
export async function seedReferenceData(db: SeedConnections): Promise<void> {
  const partners = partnersModels(db.partners);
  const coverage = coverageModels(db.coverage);
  const finance = financeModels(db.finance);
  // Every model registered first: ensureIndexes creates the indexes of registered models.
  casesModels(db.cases);
  feedModels(db.cases);
  referenceCopyModel(db.cases);
  personalDataReadModel(db.cases);
  ledgerModels(db.finance);
  for (const connection of Object.values(db)) await ensureIndexes(connection);
  await partners.Partner.bulkWrite(
    PARTNERS.map((p, i) => ({
      replaceOne: {
        filter: { _id: p.id },
        replacement: {
          _id: p.id,
          name: p.name,
          shortName: p.shortName,
          contractStart: '2022-04-01',
          contractEnd: '2026-03-31',
          capacity: 1500 + i * 250,
          serviceCatalogue: SERVICE_CATALOGUE,
          subcontractors: COUNTRIES_OF_ORIGIN.filter((c) => c.partnerId === p.id).map((c) => ({
            name: `${c.name} Reintegration Network`,
            countryCode: c.code,
            packages: ['POST_ARRIVAL', 'POST_RETURN'] as Package[],
          })),
        },
        upsert: true,
      },
    })),
  );
  await coverage.Country.bulkWrite(
    COUNTRIES_OF_ORIGIN.map((c) => ({
      replaceOne: {
        filter: { _id: c.code },
        replacement: { _id: c.code, alpha3: c.alpha3, name: c.name },
        upsert: true,
      },
    })),
  );
  await coverage.MemberState.bulkWrite(
    RELEASED_MEMBER_STATES.map((m) => ({
      replaceOne: {
        filter: { _id: m.code },
        replacement: { _id: m.code, name: m.name, joinedOn: m.joinedOn },
        upsert: true,
      },
    })),
  );
  await coverage.Coverage.bulkWrite(
    COUNTRIES_OF_ORIGIN.map((c) => ({
      updateOne: {
        filter: { countryCode: c.code, validFrom: '2022-04-01' },
        update: { $set: { partnerId: c.partnerId, packages: [...PACKAGES], validTo: null } },
        upsert: true,
      },
    })),
  );
  await finance.Tariff.bulkWrite(
    PROGRAMME_TARIFFS.map((t) => ({
      updateOne: {
        filter: { package: t.package, component: t.component, validFrom: t.validFrom },
        update: { $set: { amountCents: t.amountCents, validTo: t.validTo } },
        upsert: true,
      },
    })),
  );
}

/** Replaces all cases with `count` generated ones; returns how many were written. */
export async function seedCases(
  db: Pick<SeedConnections, 'cases'> & Partial<Pick<SeedConnections, 'finance'>>,
  options: {
    count: number;
    seed: number;
    caseIdKey: string;
    batchSize?: number;
    onProgress?: (written: number) => void;
  },
): Promise<number> {
  const { Case, Statistics } = casesModels(db.cases);
  const ledger = db.finance ? ledgerModels(db.finance) : undefined;
  await clearCollection(Case);
  await clearCollection(Statistics);
  // The statistics read model, summed while writing (as the projector would have).
  const statistics = new Map<string, Record<string, unknown>>();
  if (ledger) for (const model of [ledger.CaseFinance, ledger.Disbursement, ledger.Spend]) await clearCollection(model);
  const spend = new Map<string, Record<string, unknown>>();
  const addSpend = ([year, inc]: [string, Record<string, number>]) => {
    const target = spend.get(year) ?? {};
    addInto(target, inc);
    spend.set(year, target);
  };
  const batchSize = options.batchSize ?? 1_000;
  let batch: Array<Record<string, unknown>> = [];
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // Ids are made here so finance's ledger can key on them; data is valid by construction.
    await Case.insertMany(batch, { ordered: false, lean: true });
    for (const doc of batch as unknown as CaseDoc[]) {
      const facts = factsOf(doc);
      const counters = contribution(facts);
      for (const scope of scopesOf(facts)) {
        const target = statistics.get(scope) ?? {};
        addInto(target, counters);
        statistics.set(scope, target);
      }
    }
    if (ledger) await writeLedger(ledger, batch as unknown as SeededCase[], addSpend);
    written += batch.length;
    batch = [];
    options.onProgress?.(written);
  };
  for (const demo of generateCases({ count: options.count, seed: options.seed })) {
    batch.push(seededCaseDoc(demo, options.caseIdKey));
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  const now = new Date();
  const statisticsRows = [...statistics].map(([scope, counters]) => ({
    _id: scope,
    lastEventId: '0-0',
    updatedAt: now,
    ...counters,
  }));
  for (let i = 0; i < statisticsRows.length; i += 200)
    await Statistics.collection.insertMany(statisticsRows.slice(i, i + 200) as never[]);
  if (ledger) {
    const rows = [...spend].map(([year, counters]) => ({ _id: year, lastEventId: '0-0', ...counters }));
    if (rows.length > 0) await ledger.Spend.collection.insertMany(rows as never[]);
  }
  return written;
}

/**
 * A demo case as the store keeps it: the arrival report beside the key moments in `milestones`
 * (null until made; present, so a store seeded by this version needs no key-moment upgrade).
 */
export function seededCaseDoc(
  { arrivedAt, ...demo }: DemoCase,
  caseIdKey: string,
): Record<string, unknown> & { milestones: Record<string, Date | null> } {
  return {
    _id: caseIdOf(demo.memberState, demo.caseReference, caseIdKey),
    recordVersion: 1,
    ...demo,
    milestones: { ...demo.milestones, arrivedAt },
    packageSet: packageSetOf(demo.packages),
  };
}

type SeededCase = Omit<DemoCase, 'arrivedAt' | 'milestones'> & {
  _id: Types.ObjectId;
  milestones: DemoCase['milestones'] & { arrivedAt: Date | null };
};

/**
 * The events a seeded case would have published, in order: its creation, each step of its
 * history (with the facts before and after), and, once completed, the partner's disbursements:
 * per package, the post-return package per delivered plan line (post-arrival money is never
 * paid as post-return).
 */
export function seededCaseEvents(c: SeededCase): CaseEvent[] {
  const caseId = c._id.toHexString();
  const stateAt = (steps: number): CaseDoc => {
    const history = c.history.slice(0, steps);
    const last = history.at(-1);
    const reached = (at: Date | null) => (at && last && at.getTime() <= last.at.getTime() ? at : null);
    return {
      ...(c as unknown as CaseDoc),
      status: last ? last.to : steps === 0 && c.history.length > 0 ? 'SUBMITTED' : c.status,
      history: history as CaseDoc['history'],
      milestones: {
        km1At: reached(c.milestones.km1At),
        arrivedAt: reached(c.milestones.arrivedAt),
        km2At: reached(c.milestones.km2At),
        km3At: reached(c.milestones.km3At),
      },
    };
  };
  const events: CaseEvent[] = [
    {
      type: 'case.created',
      caseId,
      version: 0,
      at: c.createdAt.toISOString(),
      before: null,
      after: factsOf(stateAt(0)),
    },
  ];
  c.history.forEach((h, i) => {
    events.push({
      type: 'case.transitioned',
      caseId,
      version: i + 1,
      at: h.at.toISOString(),
      transition: h.transition,
      before: factsOf(stateAt(i)),
      after: factsOf(stateAt(i + 1)),
    });
  });
  if (c.status === 'COMPLETED' && c.milestones.km3At && c.partnerId && c.eligibility.outcome !== 'INELIGIBLE') {
    const at = c.milestones.km3At.toISOString();
    const owed = entitlementOf(
      { ...factsOf(stateAt(c.history.length)), returnees: c.familySize },
      PROGRAMME_TARIFFS,
    ).lines;
    // Each payment is dated inside its package's window: post-arrival money on the arrival day,
    // post-return money on the day its plan line was delivered, naming the line.
    const pay = (pkg: Package, amountCents: number, date: string | null, planLineId?: string) => {
      if (amountCents <= 0 || !date) return;
      events.push({
        type: 'case.disbursed',
        caseId,
        version: c.history.length,
        at,
        before: null,
        after: null,
        disbursement: { amountCents, package: pkg, kind: 'CASH', date, ...(planLineId ? { planLineId } : {}) },
        owner: { memberState: c.memberState, partnerId: c.partnerId, countryOfOrigin: c.countryOfOrigin },
      });
    };
    for (const pkg of c.packages) {
      if (pkg !== 'POST_RETURN')
        pay(
          pkg,
          owed.filter((l) => l.package === pkg).reduce((sum, l) => sum + l.amountCents, 0),
          c.arrivalDate ?? null,
        );
      else
        for (const line of c.reintegrationPlan?.lines ?? [])
          if (line.status === 'DELIVERED')
            pay('POST_RETURN', line.budgetCents, line.deliveries.at(-1)?.date ?? null, line.lineId);
    }
  }
  return events;
}

/** A case's ledger entry before finance has applied anything to it (as the projector inserts it). */
const NEW_LEDGER_ENTRY = { committedCents: 0, committedAt: null, disbursedCents: 0 } as unknown as CaseFinanceDoc;

/**
 * Finance's view of seeded cases, as its projector builds it: each case's events replayed
 * through the projector's own decisions (financeEffects), so the seeded ledger follows the
 * programme's money rules as the projector applies them (entitlements, commitments,
 * disbursements, people against the objective), never a copy of them.
 */
async function writeLedger(
  ledger: LedgerModels,
  cases: SeededCase[],
  addSpend: (entry: [string, Record<string, number>]) => void,
): Promise<void> {
  const ledgerRows: CaseFinanceDoc[] = [];
  const disbursements: DisbursementDoc[] = [];
  for (const c of cases) {
    const caseId = c._id.toHexString();
    let entry: CaseFinanceDoc | null = null;
    seededCaseEvents(c).forEach((event, i) => {
      const id = `0-${i + 1}`;
      const effects = financeEffects(id, event, entry, PROGRAMME_TARIFFS);
      for (const spend of effects.spend) addSpend(spend);
      if (effects.entry)
        entry = {
          ...(entry ?? NEW_LEDGER_ENTRY),
          ...(effects.entry as unknown as CaseFinanceDoc),
          _id: caseId,
        };
      if (effects.disbursedCents !== null && entry && event.disbursement) {
        const current: CaseFinanceDoc = entry;
        entry = { ...current, disbursedCents: current.disbursedCents + effects.disbursedCents, lastEventId: id };
        const seq = disbursements.filter((d) => d.caseId === caseId).length + 1;
        disbursements.push({
          _id: `${caseId}:${seq}`,
          caseId,
          seq,
          kind: 'CASH',
          package: event.disbursement.package as Package,
          planLineId: event.disbursement.planLineId ?? null,
          date: event.disbursement.date,
          amountCents: event.disbursement.amountCents,
          cumulativeCents: entry.disbursedCents,
          recordedAt: new Date(event.at),
          recordedBy: `${c.partnerId}-case-worker`,
          partnerId: c.partnerId!,
        } as DisbursementDoc);
      }
    });
    // Read from the live stream from its start: the seeded entries carry no stream position.
    if (entry) ledgerRows.push({ ...(entry as CaseFinanceDoc), lastEventId: '0-0' });
  }
  if (ledgerRows.length > 0) await ledger.CaseFinance.collection.insertMany(ledgerRows as never[]);
  if (disbursements.length > 0) await ledger.Disbursement.collection.insertMany(disbursements as never[]);
}

/**
 * Monitoring records (#16, M2) for the seeded cases (scripts/demo/monitoring.ts): assessments
 * at the follow-ups that have passed by `today`, feedback, a few complaints, two visits per
 * partner. Replaces what was stored. Returns the case events the records imply (assessments,
 * feedback, complaints filed), for the caller to publish after the read models' checkpoints
 * were moved to the stream's end, so the indicator read models fold them in like live ones.
 */
export async function seedMonitoring(
  db: Pick<SeedConnections, 'cases'>,
  options: { seed: number; today: string; instrument: Instrument },
): Promise<{ assessments: number; feedback: number; complaints: number; visits: number; events: CaseEvent[] }> {
  const models = monitoringModels(db.cases);
  for (const model of [models.Assessment, models.Feedback, models.Complaint, models.Visit])
    await clearCollection(model);
  const counts = { assessments: 0, feedback: 0, complaints: 0, visits: 0 };
  const events: CaseEvent[] = [];
  let pending: DemoMonitoring = { assessments: [], feedback: [], complaints: [] };
  const flush = async () => {
    if (pending.assessments.length) await models.Assessment.collection.insertMany(pending.assessments);
    if (pending.feedback.length) await models.Feedback.collection.insertMany(pending.feedback);
    if (pending.complaints.length) await models.Complaint.collection.insertMany(pending.complaints);
    counts.assessments += pending.assessments.length;
    counts.feedback += pending.feedback.length;
    counts.complaints += pending.complaints.length;
    pending = { assessments: [], feedback: [], complaints: [] };
  };
  const cursor = casesModels(db.cases)
    .Case.find({}, { memberState: 1, partnerId: 1, countryOfOrigin: 1, status: 1, departureDate: 1, version: 1 })
    .lean<Array<MonitoredCase & { version: number }>>()
    .cursor();
  for await (const c of cursor) {
    const records = monitoringForCase(c, options.instrument, options.today, options.seed);
    const facts = { ...c, status: c.status as CaseDoc['status'] };
    for (const a of records.assessments) events.push(assessmentEvent(facts, a));
    for (const f of records.feedback)
      events.push({
        type: 'case.feedback',
        caseId: f.caseId,
        version: c.version,
        at: f.recordedAt.toISOString(),
        before: null,
        after: null,
        owner: {
          memberState: c.memberState,
          partnerId: c.partnerId,
          countryOfOrigin: c.countryOfOrigin,
          status: c.status,
        },
        feedback: { feedbackId: f._id.toHexString(), satisfaction: f.satisfaction, complaint: null },
      });
    for (const k of records.complaints) events.push(complaintEvent(facts, k, null, k.filedAt));
    pending.assessments.push(...records.assessments);
    pending.feedback.push(...records.feedback);
    pending.complaints.push(...records.complaints);
    if (pending.assessments.length >= 1_000) await flush();
  }
  await flush();
  const visits = demoVisits(options.today);
  await models.Visit.collection.insertMany(visits);
  counts.visits = visits.length;
  return { ...counts, events };
}
