import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { CaseEvent } from '../../shared/case-events/index.js';
import { connectDatabase } from '../../shared/mongo.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { applyFinance } from '../../subgraphs/finance/ledger/projector.js';
import { financeModels } from '../../subgraphs/finance/tariffs/models.js';
import { PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';
import { eventFacts } from '../helpers/event-facts.js';
import { testConfig } from '../helpers/system.js';

/**
 * The finance projector under a lease handover (README, "Leases and fencing"): a holder paused
 * past its lease that wakes between the new holder's read of the case ledger and its write
 * must not have the same disbursement (and its yearly spend) counted twice.
 */
const config = testConfig();
let connection: Connection;
beforeAll(async () => {
  connection = await connectDatabase(config, 'finance');
});
afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

it('a stale holder writing between the new holder read and write does not double count a disbursement', async () => {
  const models = { ...financeModels(connection), ...ledgerModels(connection) };
  await models.Tariff.insertMany(PROGRAMME_TARIFFS.map((row) => ({ ...row })));
  const facts = eventFacts({ packages: ['POST_ARRIVAL'], departureDate: '2024-03-01', partnerId: 'weldo' });
  const created: CaseEvent = {
    type: 'case.created',
    caseId: 'f1',
    version: 1,
    at: '2024-03-01T00:00:00Z',
    before: null,
    after: facts,
  };
  // The ledger was last written under an older lease (7), so neither holder's fence alone refuses the other.
  await applyFinance(models, { entries: [{ id: '30-0', event: created }], lastId: '30-0' }, 7);
  const disbursed: CaseEvent = {
    type: 'case.disbursed',
    caseId: 'f1',
    version: 2,
    at: '2024-03-05T00:00:00Z',
    before: null,
    after: null,
    disbursement: { amountCents: 10_000, package: 'POST_ARRIVAL', kind: 'CASH', date: '2024-03-05' },
  };
  const batch = { entries: [{ id: '31-0', event: disbursed }], lastId: '31-0' };

  // New holder B (fence 9) reads the ledger; before it writes, stale A (fence 8) wakes and applies the same batch.
  const original = models.CaseFinance.findOne.bind(models.CaseFinance);
  let staleRan = false;
  const ledger = new Proxy(models.CaseFinance, {
    get(target, prop, receiver) {
      if (prop !== 'findOne') return Reflect.get(target, prop, receiver);
      return (...args: Parameters<typeof original>) => {
        const query = original(...args);
        return {
          lean: () => ({
            exec: async () => {
              const row = await query.lean().exec();
              if (!staleRan) {
                staleRan = true;
                await applyFinance(models, batch, 8);
              }
              return row;
            },
          }),
        };
      };
    },
  });
  await applyFinance({ ...models, CaseFinance: ledger } as typeof models, batch, 9).catch(() => undefined);
  // The holder's retry of the batch (as the leased loop does) finds it counted and adds nothing.
  await applyFinance(models, batch, 9);
  const row = (await models.CaseFinance.findOne({ _id: 'f1' }).lean().exec()) as { disbursedCents: number } | null;
  expect(row?.disbursedCents).toBe(10_000);
  const spend = (await models.Spend.findOne({ _id: '2024' }).lean().exec()) as Record<string, unknown> | null;
  const disbursedTotals = Object.entries(spend ?? {}).filter(([key]) => /disbursed/i.test(key));
  expect(disbursedTotals.length).toBeGreaterThan(0);
  for (const [key, value] of disbursedTotals) {
    if (typeof value === 'number') expect(value, key).toBe(10_000);
  }
});
