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
import {
  commitmentInc,
  disbursementInc,
  entitlementOf,
  peopleDelta,
  type FinanceFacts,
} from '../subgraphs/finance/ledger/projection.js';
import {
  ledgerModels,
  type CaseFinanceDoc,
  type DisbursementDoc,
  type LedgerModels,
} from '../subgraphs/finance/ledger/models.js';
import { generateCases, type DemoCase } from './demo/generate.js';

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
    batch.push({
      _id: caseIdOf(demo.memberState, demo.caseReference, options.caseIdKey),
      recordVersion: 1,
      ...demo,
      packageSet: packageSetOf(demo.packages),
    });
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

type SeededCase = DemoCase & { _id: Types.ObjectId };

/**
 * Finance's view of seeded cases, as its projector keeps it under the programme's rules: an
 * ineligible or withdrawn case has no entitlement to pay; every eligible case a partner
 * accepted commits its entitlement at acceptance (KM1); the people of eligible, not withdrawn
 * cases count towards the yearly objective; a completed case is paid per package (post-arrival
 * money is never paid as post-return), the post-return package per delivered plan line.
 */
async function writeLedger(
  ledger: LedgerModels,
  cases: SeededCase[],
  addSpend: (entry: [string, Record<string, number>]) => void,
): Promise<void> {
  const ledgerRows: CaseFinanceDoc[] = [];
  const disbursements: DisbursementDoc[] = [];
  for (const c of cases) {
    const facts: FinanceFacts = {
      memberState: c.memberState,
      countryOfOrigin: c.countryOfOrigin,
      partnerId: c.partnerId,
      packages: c.packages,
      returnType: c.returnType,
      returnees: c.familySize,
      departureDate: c.departureDate,
      month: c.departureDate.slice(0, 7),
    };
    const payable = c.eligibility.outcome !== 'INELIGIBLE' && c.status !== 'WITHDRAWN';
    const entitlement = payable ? entitlementOf(facts, PROGRAMME_TARIFFS) : { totalCents: 0, lines: [] };
    const acceptance = payable ? c.history.find((h) => h.transition === 'acceptCase') : undefined;
    if (payable) for (const entry of peopleDelta(null, facts)) addSpend(entry);
    if (acceptance) addSpend(commitmentInc(facts, entitlement.lines, acceptance.at));
    let disbursed = 0;
    if (payable && c.status === 'COMPLETED' && c.milestones.km3At && c.partnerId) {
      const date = c.milestones.km3At.toISOString().slice(0, 10);
      const pay = (pkg: Package, amountCents: number, lineId: string | null) => {
        if (amountCents <= 0) return;
        disbursed += amountCents;
        addSpend(disbursementInc(facts, pkg, amountCents, date));
        const seq = disbursements.filter((d) => d.caseId === c._id.toHexString()).length + 1;
        disbursements.push({
          _id: `${c._id.toHexString()}:${seq}`,
          caseId: c._id.toHexString(),
          seq,
          kind: 'CASH',
          package: pkg,
          ...(lineId ? { lineId } : {}),
          date,
          amountCents,
          cumulativeCents: disbursed,
          recordedAt: c.milestones.km3At!,
          recordedBy: `${c.partnerId}-case-worker`,
          partnerId: c.partnerId!,
        } as DisbursementDoc);
      };
      for (const pkg of c.packages) {
        if (pkg !== 'POST_RETURN') {
          const owed = entitlement.lines.filter((l) => l.package === pkg).reduce((sum, l) => sum + l.amountCents, 0);
          pay(pkg, owed, null);
        } else
          for (const line of c.reintegrationPlan?.lines ?? [])
            if (line.status === 'DELIVERED') pay('POST_RETURN', line.budgetCents, line.lineId);
      }
    }
    ledgerRows.push({
      _id: c._id.toHexString(),
      memberState: c.memberState,
      countryOfOrigin: c.countryOfOrigin,
      partnerId: c.partnerId,
      packages: c.packages,
      returnType: c.returnType,
      familySize: c.familySize,
      departureDate: c.departureDate,
      entitlementCents: entitlement.totalCents,
      entitlementLines: entitlement.lines,
      committedCents: acceptance ? entitlement.totalCents : 0,
      committedAt: acceptance ? acceptance.at : null,
      disbursedCents: disbursed,
      lastEventId: '0-0',
    });
  }
  await ledger.CaseFinance.collection.insertMany(ledgerRows as never[]);
  if (disbursements.length > 0) await ledger.Disbursement.collection.insertMany(disbursements as never[]);
}
