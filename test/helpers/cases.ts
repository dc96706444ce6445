import { publishCaseEvents } from '../../shared/case-events/index.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import type { TestSystem } from './system.js';

/**
 * A case as a Member State's feed inserts it: stored, then its `case.created` event published
 * (as ingestion does), so the projectors see it. `fields` are the stored case's fields.
 */
export async function createCaseAsIngested(system: TestSystem, fields: Record<string, unknown>): Promise<string> {
  const { Case } = casesModels(system.connections.cases);
  const doc = await Case.create(fields);
  const stored = (await Case.findById(doc._id).lean<CaseDoc>().exec())!;
  await publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, [
    {
      type: 'case.created',
      caseId: doc._id.toHexString(),
      version: 0,
      at: new Date().toISOString(),
      before: null,
      after: factsOf(stored),
    },
  ]);
  return doc._id.toHexString();
}
