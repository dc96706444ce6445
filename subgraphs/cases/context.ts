import type { Model, Types } from 'mongoose';
import type { Principal } from '../../shared/auth.js';
import type { CaseEvent } from '../../shared/case-events/index.js';
import type { CaseAccess } from './case/access.js';
import type { CasesLoaders } from './case/loaders.js';
import type { CasesModels } from './case/models.js';
import type { PersonalDataAudit, PersonalDataReadDoc } from './data-protection/audit.js';
import type { ErasureDoc } from './data-protection/erasure.js';
import type { RetentionModels } from './data-protection/retention.js';
import type { PersonalDataGrantDoc } from './data-protection/support-access.js';
import type { FeedModels } from './ingestion/feeds.js';
import type { ProfileStore } from './ingestion/profile-store.js';
import type { WebhookApi } from './webhooks/index.js';
import type DataLoader from 'dataloader';
import type { CaseMessageModels } from './messages/models.js';
import type { WorklistThresholds } from './worklist/rules.js';
import type { Instrument } from './monitoring/instrument.js';
import type { MonitoringModels } from './monitoring/models.js';
import type { WorklistItemDoc } from './worklist/store.js';
import type { IndicatorFile } from './indicators/definitions.js';
import type { IndicatorModels } from './indicators/store.js';

/** What every resolver of the cases subgraph gets, built per request in subgraph.ts. */
export interface CasesContext {
  principal: Principal | null;
  feeds: FeedModels;
  /** The managed national CSV profiles (ingestion/profile-store.ts). */
  profiles: ProfileStore;
  models: CasesModels;
  loaders: CasesLoaders;
  /** Retries exhausted ingestion chunk jobs (all, or one feed's); returns how many. */
  replayFailed: (feedId?: string) => Promise<number>;
  /** Appends case events to the stream (after the change is stored). */
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
  /** Records the personal data this request serves (written when the response is ready). */
  audit: PersonalDataAudit;
  personalDataReadLog: Model<PersonalDataReadDoc>;
  webhooks: WebhookApi;
  /** Case messages (messages/): the threads, and this request's message counts per case. */
  messages: { models: CaseMessageModels; counts: DataLoader<string, number> };
  /** Monitoring records (monitoring/): assessments, feedback, complaints, visits, and the instrument in force. */
  monitoring: { models: MonitoringModels; instrument: Instrument };
  /** The worklist read model, its thresholds and the day due-ness is computed for. */
  worklist: { Worklist: Model<WorklistItemDoc>; thresholds: WorklistThresholds; today: () => string };
  /** Indicators (indicators/): the definitions in force, their read model, the small-cell threshold. */
  indicators: { file: IndicatorFile; models: IndicatorModels; threshold: number };
  /** This request's view of the cases: the one place the access rules are applied. */
  access: CaseAccess;
  requestId: string | null;
  /** Rejection entries an ingestion report lists (INGEST_MAX_PROBLEMS_PER_REPORT); the rest are counted. */
  problemsPerReport?: number;
  /** Small-cell suppression threshold for aggregates a non-owner reads (SUPPRESSION_THRESHOLD; statistics/). */
  suppressionThreshold?: number;
  dataProtection: {
    grants: Model<PersonalDataGrantDoc>;
    erasures: Model<ErasureDoc>;
    retention: RetentionModels;
    supportAccessMinutes: number;
    /** Erases one case's personal data everywhere (data-protection/erasure.ts), returning its record. */
    erase: (
      caseId: Types.ObjectId,
      who: {
        actor: { role: string; subject: string; memberState?: string };
        requestReference: string;
        requestId: string | null;
      },
    ) => Promise<ErasureDoc>;
  };
}
