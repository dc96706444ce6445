import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, ensureIndexes } from '../../shared/mongo.js';
import { backfillPackageSets, casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { caseFilterToQuery } from '../../subgraphs/cases/case/resolvers.js';
import { testConfig } from '../helpers/system.js';
import type { Package } from '../../shared/domain.js';

/**
 * A store written by an earlier version: cases without packageSet and the list index on the
 * packages array. Started by this version, the cases subgraph brings it up to date before it
 * serves, so a filter on packages finds every case it should.
 */
describe('cases stored by an earlier version', () => {
  const config = testConfig();
  let connection: Connection;
  const shapes: Package[][] = [
    ['POST_ARRIVAL'],
    ['POST_ARRIVAL', 'POST_RETURN'],
    ['CHARTER_ARRIVAL'],
    ['CHARTER_ARRIVAL', 'POST_RETURN'],
    ['POST_RETURN'],
  ];

  beforeAll(async () => {
    connection = await connectDatabase(config, 'cases');
    const { Case } = casesModels(connection);
    await ensureIndexes(connection);
    await Case.collection.createIndex({ packages: 1, _id: 1 }, { name: 'packages_id' });
    // 2,500 cases as the earlier version wrote them: no packageSet.
    await Case.collection.insertMany(
      Array.from({ length: 2_500 }, (_, i) => ({
        memberState: 'BE',
        caseReference: `OLD-${i}`,
        countryOfOrigin: 'IQ',
        status: 'SUBMITTED',
        packages: shapes[i % shapes.length]!,
      })) as never[],
    );
  });

  afterAll(async () => {
    await connection.close();
  });

  it('adds packageSet to every case, drops the obsolete index; a packages filter finds exactly its cases', async () => {
    const { Case } = casesModels(connection);
    expect(await Case.countDocuments(caseFilterToQuery({ packages: ['CHARTER_ARRIVAL'] })).exec()).toBe(0);
    expect(await backfillPackageSets(Case, 1_000)).toBe(2_500);
    const indexes = (await Case.collection.listIndexes().toArray()).map((i) => i.name);
    expect(indexes).not.toContain('packages_id');
    expect(indexes).toContain('packageSet_id_filters');
    for (const wanted of [['CHARTER_ARRIVAL'], ['POST_RETURN'], ['POST_ARRIVAL', 'CHARTER_ARRIVAL']] as Package[][]) {
      const expected = await Case.countDocuments({ packages: { $in: wanted } }).exec();
      expect(expected).toBeGreaterThan(0);
      expect(await Case.countDocuments(caseFilterToQuery({ packages: wanted })).exec(), wanted.join(',')).toBe(
        expected,
      );
    }
    // Once done, nothing is left to do.
    expect(await backfillPackageSets(Case)).toBe(0);
    const sample = await Case.findOne({ caseReference: 'OLD-3' }).lean<CaseDoc>().exec();
    expect(sample?.packageSet).toBe('CHARTER_ARRIVAL+POST_RETURN');
  });
});
