import type { Connection } from 'mongoose';
import { COUNTRIES_OF_ORIGIN, MEMBER_STATES, PACKAGES, PARTNERS, type Package } from '../shared/domain.js';
import { ensureIndexes } from '../shared/mongo.js';
import { casesModels } from '../subgraphs/cases/models.js';
import { coverageModels } from '../subgraphs/coverage/models.js';
import { financeModels } from '../subgraphs/finance/models.js';
import { PROGRAMME_TARIFFS } from '../subgraphs/finance/rules.js';
import { partnersModels } from '../subgraphs/partners/models.js';
import { generateCases } from './demo/generate.js';

/** DOMAIN.md's package contents, which every contracted partner offers. */
const SERVICE_CATALOGUE: Array<{ package: Package; services: string[] }> = [
  {
    package: 'POST_ARRIVAL',
    services: ['Airport pick-up or reception', 'Temporary accommodation', 'In-country travel', 'Referral for urgent medical care', 'Special assistance for vulnerable people', 'Cash'],
  },
  { package: 'CHARTER_ARRIVAL', services: ['Cash', 'Airport pick-up', 'Onward transportation', 'Housing upon arrival', 'Medical assistance', 'Family reunification'] },
  {
    package: 'POST_RETURN',
    services: ['Business start-up', 'Long-term housing', 'Social, legal and medical support', 'Job placement', 'Schooling and language training', 'Technical and vocational training', 'Cash'],
  },
];

export interface SeedConnections {
  cases: Connection;
  partners: Connection;
  coverage: Connection;
  finance: Connection;
}

/** Reference data every environment needs: partners, countries, coverage, Member States, tariffs. Upserts; safe to repeat. */
export async function seedReferenceData(db: SeedConnections): Promise<void> {
  const partners = partnersModels(db.partners);
  const coverage = coverageModels(db.coverage);
  const finance = financeModels(db.finance);
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
      replaceOne: { filter: { _id: c.code }, replacement: { _id: c.code, alpha3: c.alpha3, name: c.name }, upsert: true },
    })),
  );
  await coverage.MemberState.bulkWrite(
    MEMBER_STATES.map((m) => ({ replaceOne: { filter: { _id: m.code }, replacement: { _id: m.code, name: m.name }, upsert: true } })),
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
  db: Pick<SeedConnections, 'cases'>,
  options: { count: number; seed: number; batchSize?: number; onProgress?: (written: number) => void },
): Promise<number> {
  const { Case } = casesModels(db.cases);
  await Case.deleteMany({});
  const batchSize = options.batchSize ?? 1_000;
  let batch: unknown[] = [];
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // Generated data is valid by construction; skip per-document validation for speed.
    await Case.insertMany(batch, { ordered: false, lean: true });
    written += batch.length;
    batch = [];
    options.onProgress?.(written);
  };
  for (const demo of generateCases({ count: options.count, seed: options.seed })) {
    batch.push({ recordVersion: 1, ...demo });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return written;
}
