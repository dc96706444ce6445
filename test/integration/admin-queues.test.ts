import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { mintToken } from '../../shared/auth.js';
import { WEBHOOK_QUEUE } from '../../subgraphs/cases/webhooks/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

interface DashboardQueue {
  name: string;
  counts: Record<string, number>;
}

/** The queues dashboard (/admin/queues) shows every queue the system runs, the webhook deliveries included. */
describe('queues dashboard', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 1, seed: 3 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('lists the ingestion and the webhook delivery queues, with the webhook queue’s jobs', async () => {
    const admin = await mintToken({ subject: 'ops', role: 'ADMIN' }, system.config);
    const api = `${system.gatewayUrl.replace(/\/graphql$/, '')}/admin/queues/api/queues`;
    // A delivery parked in the future, so the worker leaves it waiting where the dashboard can count it.
    const deliveries = new Queue(WEBHOOK_QUEUE, { connection: system.redis, prefix: system.config.QUEUE_PREFIX });
    await deliveries.add('parked', { note: 'dashboard test' }, { delay: 3_600_000, jobId: 'dashboard-parked' });
    try {
      const response = await fetch(api, { headers: { authorization: `Bearer ${admin}` } });
      expect(response.status).toBe(200);
      const { queues } = (await response.json()) as { queues: DashboardQueue[] };
      expect(queues.map((q) => q.name).sort()).toEqual(['avrr-ingest', WEBHOOK_QUEUE].sort());
      expect(queues.find((q) => q.name === WEBHOOK_QUEUE)!.counts.delayed).toBe(1);
      // Still administrators only.
      const partner = await system.as({ subject: 'p', role: 'PARTNER', partnerId: 'caritas-be' });
      expect((await fetch(api, { headers: partner })).status).toBe(403);
    } finally {
      await deliveries.remove('dashboard-parked');
      await deliveries.close();
    }
  });
});
