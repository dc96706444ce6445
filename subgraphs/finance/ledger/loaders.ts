import DataLoader from 'dataloader';
import { batchByKey } from '../../../shared/loaders.js';
import type { CaseFinanceDoc, DisbursementDoc, LedgerModels, SpendDoc } from './models.js';

/** Finance's per-case ledger, disbursements and yearly spend, each batched per request. */
export function createLedgerLoaders(models: LedgerModels) {
  return {
    caseById: batchByKey<string, CaseFinanceDoc>(
      (ids) =>
        models.CaseFinance.find({ _id: { $in: [...ids] } })
          .lean<CaseFinanceDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
    disbursementsByCase: new DataLoader<string, DisbursementDoc[]>(async (ids) => {
      const rows = await models.Disbursement.find({ caseId: { $in: [...ids] } })
        .sort({ seq: 1 })
        .lean<DisbursementDoc[]>()
        .exec();
      const byCase = new Map<string, DisbursementDoc[]>();
      for (const row of rows) byCase.set(row.caseId, [...(byCase.get(row.caseId) ?? []), row]);
      return ids.map((id) => byCase.get(id) ?? []);
    }),
    spendByYear: batchByKey<string, SpendDoc>(
      (years) =>
        models.Spend.find({ _id: { $in: [...years] } })
          .lean<SpendDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
  };
}
