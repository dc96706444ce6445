import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import { connectDatabase } from '../../shared/mongo.js';
import { casesModels, type CasesModels } from '../../subgraphs/cases/case/models.js';
import { applyStatistics } from '../../subgraphs/cases/statistics/projector.js';
import { eventFacts } from '../helpers/event-facts.js';
import { testConfig } from '../helpers/system.js';

const config = testConfig();
let connection: Connection;
beforeAll(async () => {
  connection = await connectDatabase(config, 'cases');
});
afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

it('a stale holder (older fence) writing between the new holder read and write does not double count', async () => {
  const models = casesModels(connection);
  const batch = {
    entries: [
      {
        id: '20-0',
        event: {
          type: 'case.created' as const,
          caseId: 'x1',
          version: 1,
          at: '2024-03-01T00:00:00Z',
          before: null,
          after: eventFacts(),
        },
      },
    ],
    lastId: '20-0',
  };
  // New holder B (fence 9) reads `seen`; before it writes, stale A (fence 8) wakes and applies the same batch.
  const original = models.Statistics.find.bind(models.Statistics);
  let staleRan = false;
  const stats = new Proxy(models.Statistics, {
    get(target, prop, receiver) {
      if (prop !== 'find') return Reflect.get(target, prop, receiver);
      return (...args: Parameters<typeof original>) => {
        const query = original(...args);
        return {
          lean: () => ({
            exec: async () => {
              const rows = await query.lean().exec();
              if (!staleRan) {
                staleRan = true;
                await applyStatistics(models, batch, 8); // stale holder: accepted, no newer fence on the doc yet
              }
              return rows;
            },
          }),
        };
      };
    },
  });
  await expect(applyStatistics({ ...models, Statistics: stats } as CasesModels, batch, 9)).rejects.toThrow(
    /written by another writer/,
  );
  const total = async () =>
    ((await models.Statistics.findOne({ _id: 'all' }).lean().exec()) as { cases?: number } | null)?.cases;
  expect(await total()).toBe(1);
  // The holder's retry of the batch sees the event counted and adds nothing.
  await applyStatistics(models, batch, 9);
  expect(await total()).toBe(1);
});
