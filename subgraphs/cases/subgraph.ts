import type { Connection } from 'mongoose';
import type { SubgraphDefinition, SubgraphProcess } from '../../shared/subgraph.js';
import { loadSchemaFiles, mergeResolvers } from '../../shared/schema-slices.js';
import { DateScalar, DateTimeScalar } from '../../shared/scalars.js';
import { createCasesLoaders } from './case/loaders.js';
import { backfillPackageSets, casesModels } from './case/models.js';
import { feedModels } from './ingestion/feeds.js';
import { profileModels, ProfileStore } from './ingestion/profile-store.js';
import { loadProfiles } from './ingestion/profiles/index.js';
import { feedProfilesChannel } from './ingestion/contract.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { INGEST_QUEUE, type ChunkReport, type IngestChunkJob } from './ingestion/contract.js';
import { replayFailedChunks } from './ingestion/replay.js';
import { PersonalDataAudit, personalDataReadModel } from './data-protection/audit.js';
import { CaseAccess, casesPseudonymisers, protectPersonalFields } from './case/access.js';
import { caseResolvers } from './case/resolvers.js';
import type { CasesContext } from './context.js';
import { dataProtectionResolvers } from './data-protection/resolvers.js';
import { ingestionResolvers } from './ingestion/resolvers.js';
import { qualityResolvers } from './quality/resolvers.js';
import { statisticsResolvers } from './statistics/resolvers.js';
import { webhookResolvers } from './webhooks/resolvers.js';
import { messageResolvers } from './messages/resolvers.js';
import { caseMessageModels } from './messages/models.js';
import { messageCountLoader } from './messages/thread.js';
import { personalDataGrantModel } from './data-protection/support-access.js';
import { eraseCase } from './data-protection/erasure.js';
import { dataProtectionDeps } from './data-protection/retention.js';
import { WebhookApi, webhookModels } from './webhooks/index.js';
import type { Redis } from 'ioredis';
import { keepReferenceCopy } from './reference/index.js';
import { referenceCopyModel } from './reference/copy.js';
import type { Config } from '../../shared/config.js';
import { publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import { createRedis } from '../../shared/redis.js';
import { startCasesBackground, type CasesBackground } from './worklist/background.js';
import { worklistResolvers } from './worklist/resolvers.js';
import { worklistModel, worklistThresholds } from './worklist/store.js';
import { monitoringResolvers } from './monitoring/resolvers.js';
import { monitoringModels } from './monitoring/models.js';
import { DEFAULT_INSTRUMENT_FILE, loadInstrument } from './monitoring/instrument.js';
import { indicatorResolvers } from './indicators/resolvers.js';
import { indicatorsOf } from './indicators/background.js';
import { indicatorModels } from './indicators/store.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** The root's slice (directives, scalars) and each feature folder's `schema.graphql`, merged. */
export const casesTypeDefs = loadSchemaFiles(new URL('./', import.meta.url));

/** Each feature folder's resolvers, merged; the scalars are the root's. */
export const casesResolvers = mergeResolvers<CasesContext>(
  { Date: DateScalar, DateTime: DateTimeScalar },
  caseResolvers,
  dataProtectionResolvers,
  ingestionResolvers,
  qualityResolvers,
  statisticsResolvers,
  webhookResolvers,
  messageResolvers,
  worklistResolvers,
  monitoringResolvers,
  indicatorResolvers,
);

/**
 * The cases subgraph. It publishes a case event for every change to the Redis stream the
 * statistics projector (and subscribers) read; pass `redis` to share a connection.
 */
export function casesSubgraph(
  connection: Connection,
  config: Pick<
    Config,
    | 'REDIS_URL'
    | 'QUEUE_PREFIX'
    | 'PSEUDONYM_KEY'
    | 'SUPPORT_ACCESS_MINUTES'
    | 'WEBHOOK_ALLOW_HTTP'
    | 'WEBHOOK_ALLOW_PRIVATE_NETWORK'
    | 'WEBHOOK_LOCAL_RECEIVER'
    | 'WEBHOOK_ATTEMPTS'
    | 'WEBHOOK_BACKOFF_MS'
  > &
    Partial<Pick<Config, 'PROFILES_DIR'>> &
    Partial<Pick<Config, 'INGEST_MAX_PROBLEMS_PER_REPORT'>> &
    Partial<Config>,
  redis?: Redis,
  /** Today's date (YYYY-MM-DD) for the worklists' due-ness; the test system fixes it. */
  today: () => string = () => new Date().toISOString().slice(0, 10),
): SubgraphDefinition<CasesContext> {
  const models = casesModels(connection);
  const feeds = feedModels(connection);
  const personalDataReadLog = personalDataReadModel(connection);
  const grants = personalDataGrantModel(connection);
  const messages = caseMessageModels(connection);
  // The sustainability instrument: a file that does not validate refuses the start (monitoring/instrument.ts).
  const monitoring = {
    models: monitoringModels(connection),
    instrument: loadInstrument(resolve(ROOT_DIR, config.INSTRUMENT_FILE ?? DEFAULT_INSTRUMENT_FILE)),
  };
  const ownRedis = redis ? undefined : createRedis(config, 'cases-subgraph');
  const client = redis ?? ownRedis!;
  // The copy of the reference lists (collection referenceData), kept from the reference-data stream.
  referenceCopyModel(connection);
  keepReferenceCopy(connection, client, config.QUEUE_PREFIX);
  const publish = (events: ReadonlyArray<CaseEvent>) => publishCaseEvents(client, config.QUEUE_PREFIX, events);
  // A change is announced to every gateway; one lost (Redis away) is made good by their periodic reload.
  const profiles = new ProfileStore(profileModels(connection), async (notice) => {
    const announced = client.publish(feedProfilesChannel(config.QUEUE_PREFIX), JSON.stringify(notice));
    await Promise.race([announced.catch(() => 0), new Promise((r) => setTimeout(r, 2_000))]);
  });
  let queue: Queue<IngestChunkJob, ChunkReport> | undefined;
  const replayFailed = (feedId?: string) => {
    queue ??= new Queue<IngestChunkJob, ChunkReport>(INGEST_QUEUE, { connection: client, prefix: config.QUEUE_PREFIX });
    return replayFailedChunks(queue, feeds, feedId);
  };
  const webhooks = new WebhookApi(webhookModels(connection), client, config.QUEUE_PREFIX, {
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORK,
    allowLocalhost: config.WEBHOOK_LOCAL_RECEIVER,
    attempts: config.WEBHOOK_ATTEMPTS,
    backoffMs: config.WEBHOOK_BACKOFF_MS,
  });
  const worklist = { Worklist: worklistModel(connection), thresholds: worklistThresholds(config), today };
  // A malformed indicators file refuses to start (IndicatorFileError names the file and the fault).
  const indicators = {
    file: indicatorsOf(config),
    models: indicatorModels(connection),
    threshold: config.SUPPRESSION_THRESHOLD ?? 5,
  };
  const erasureDeps = dataProtectionDeps(connection, client, config.QUEUE_PREFIX);
  const dataProtection: CasesContext['dataProtection'] = {
    grants,
    erasures: erasureDeps.erasures,
    retention: erasureDeps.retention,
    supportAccessMinutes: config.SUPPORT_ACCESS_MINUTES,
    erase: (caseId, who) => eraseCase(erasureDeps, caseId, { ...who, kind: 'REQUEST' }),
  };
  return {
    name: 'cases',
    typeDefs: casesTypeDefs,
    resolvers: casesResolvers,
    prepare: async () => {
      await backfillPackageSets(models.Case);
      // The profiles folder seeds the managed profiles (version 1 of names the store lacks).
      const folder = config.PROFILES_DIR ?? 'profiles';
      await profiles.seed(loadProfiles(resolve(ROOT_DIR, folder)), `${folder}/`);
    },
    protectSchema: (schema) => {
      // Serving unprotected personal fields is worse than not starting.
      if (protectPersonalFields(schema, casesPseudonymisers).length === 0)
        throw new Error('no personal field of the cases schema could be protected');
    },
    createContext: (principal, requestId, requestIdSource) => {
      const access = new CaseAccess(principal, grants, config.PSEUDONYM_KEY);
      return {
        principal,
        models,
        feeds,
        profiles,
        loaders: createCasesLoaders(models, access),
        publish,
        replayFailed,
        personalDataReadLog,
        audit: new PersonalDataAudit(personalDataReadLog, principal, requestId, requestIdSource),
        access,
        requestId,
        dataProtection,
        webhooks,
        messages: { models: messages, counts: messageCountLoader(messages) },
        worklist,
        monitoring,
        indicators,
        problemsPerReport: config.INGEST_MAX_PROBLEMS_PER_REPORT,
        suppressionThreshold: config.SUPPRESSION_THRESHOLD,
      };
    },
    // Every read of personal data is recorded once the response is ready, before it is sent.
    plugins: [
      {
        requestDidStart: async () => ({
          willSendResponse: async ({ contextValue }) => {
            await contextValue.audit.flush();
          },
        }),
      },
    ],
    close: async () => {
      await queue?.close();
      await webhooks.close();
      ownRedis?.disconnect();
    },
  };
}

/**
 * The cases subgraph's process (main.ts, and the test system): the statistics and worklist
 * projectors keep their read models from the case event stream beside the server. The
 * ingestion worker is a process of its own (worker.ts).
 */
export const casesProcess: SubgraphProcess<CasesContext, CasesBackground> = {
  name: 'cases',
  port: (config) => config.CASES_PORT,
  build: (connection, config, { pieces }) => casesSubgraph(connection, config, pieces.redis, pieces.today),
  background: (config, loggerFor, pieces) => startCasesBackground(config, loggerFor, { blockMs: pieces.blockMs }),
};
