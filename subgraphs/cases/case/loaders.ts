import type DataLoader from 'dataloader';
import { Types } from 'mongoose';
import { batchByKey } from '../../../shared/loaders.js';
import type { CaseDoc, CasesModels, MemberStateRulesDoc, StatisticsDoc } from './models.js';
import type { CaseAccess } from './access.js';

export interface CasesLoaders {
  caseById: DataLoader<string, CaseDoc | null>;
  /** Statistics read-model documents by scope (`partner:weldo`, ...). */
  statisticsByScope: DataLoader<string, StatisticsDoc | null>;
  /** A Member State's configured rules (null: the programme's defaults), one read per request for a page of cases. */
  memberStateRules: DataLoader<string, MemberStateRulesDoc | null>;
}

/** `caseById` sees only the cases `access` allows: a case out of scope is null, as if it did not exist. */
export function createCasesLoaders(models: CasesModels, access: CaseAccess): CasesLoaders {
  return {
    caseById: batchByKey<string, CaseDoc>(
      async (ids) => {
        access.restrict({}); // an anonymous caller is refused even for ids that cannot exist
        // Ids that are not ObjectIds cannot exist; they resolve to null, not an error.
        const valid = ids.filter((id) => Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id));
        if (valid.length === 0) return [];
        // By _id alone, then only the cases in scope kept: the same cases as with the scope in the
        // query, but the embedded store would then walk the scope's index (every case of a Member
        // State: about 0.9 s for a worklist page of 100 at 100,000 cases) instead of reading these.
        const docs = await models.Case.find({ _id: { $in: valid.map((id) => new Types.ObjectId(id)) } })
          .lean<CaseDoc[]>()
          .exec();
        return docs.filter((doc) => access.visible(doc));
      },
      (doc) => doc._id.toHexString(),
    ),
    statisticsByScope: batchByKey<string, StatisticsDoc>(
      (scopes) =>
        models.Statistics.find({ _id: { $in: [...scopes] } })
          .lean<StatisticsDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
    memberStateRules: batchByKey<string, MemberStateRulesDoc>(
      (memberStates) =>
        models.MemberStateRules.find({ _id: { $in: [...memberStates] } })
          .lean<MemberStateRulesDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
  };
}
