import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../shared/config.js';
import type { RunningService } from '../../shared/http.js';
import { connectDatabase, type SubgraphName } from '../../shared/mongo.js';
import { startSubgraphProcess, type SubgraphPieces } from '../../shared/subgraph.js';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import { casesProcess } from '../../subgraphs/cases/subgraph.js';
import { coverageProcess } from '../../subgraphs/coverage/subgraph.js';
import { financeProcess } from '../../subgraphs/finance/subgraph.js';
import { partnersProcess } from '../../subgraphs/partners/subgraph.js';
import { seedCases, seedReferenceData } from '../../scripts/seed-data.js';
import type { Redis } from 'ioredis';
import { caseEventStream, publishCaseEvents } from '../../shared/case-events/index.js';
import type { Worker } from 'bullmq';
import {
  coverageClient,
  createIngestWorker,
  feedModels,
  processIngestChunk,
  type AssignPartners,
  type ChunkReport,
} from '../../subgraphs/cases/ingestion/index.js';
import { createRedis } from '../../shared/redis.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { resetStatisticsCheckpoint, type StatisticsProjector } from '../../subgraphs/cases/statistics/projector.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { resetFinanceCheckpoint } from '../../subgraphs/finance/ledger/projector.js';
import { mintToken, PRINCIPAL_HEADER, signPrincipal, type Principal } from '../../shared/auth.js';

export const silentLogger = pino({ level: 'silent' });

/** A config whose databases belong to this test file only. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const id = `t${randomBytes(5).toString('hex')}`;
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGO_DB_PREFIX: id,
    QUEUE_PREFIX: id,
    SUBGRAPH_TIMEOUT_MS: '10000',
    // Off unless a test is about it: test files send hundreds of requests with one token.
    RATE_LIMIT_PER_MINUTE: '0',
    // Test files run side by side: every metrics server on a free port.
    GATEWAY_METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    CASES_METRICS_PORT: '0',
    PARTNERS_METRICS_PORT: '0',
    COVERAGE_METRICS_PORT: '0',
    FINANCE_METRICS_PORT: '0',
    ...overrides,
  });
}

export interface TestSystem {
  config: Config;
  redis: Redis;
  /** Processes one feed chunk as the ingestion worker does (validation, eligibility, assignment, upsert, events). */
  ingest: (memberState: string, records: unknown[]) => Promise<ChunkReport>;
  /** The ingestion worker's coverage client, pointed at this system's coverage subgraph. */
  assignPartners: AssignPartners;
  /** Keeps `statistics` up to date from the case events, as the cases subgraph's process does. */
  projector: StatisticsProjector;
  connections: Record<SubgraphName, Connection>;
  subgraphs: Record<SubgraphName, RunningService>;
  gateway: GatewayService;
  gatewayUrl: string;
  /**
   * A GraphQL request through the gateway, as an administrator (every case's metadata, no
   * personal data) unless `headers` has an `authorization` of its own ('' is anonymous).
   */
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: GraphQLBody<T> }>;
  /** An `authorization` header for `principal` (null: anonymous). */
  as: (principal: Principal | null) => Promise<Record<string, string>>;
  stop: () => Promise<void>;
}

export interface GraphQLBody<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

/** The whole graph in this process, on ephemeral ports, over real FerretDB. */
/**
 * Seeds the reference data (partners, countries, coverage, tariffs) into `config`'s databases and
 * closes its connections: for tests that start the real entry points as processes of their own.
 */
export async function seedReferenceDatabases(config: Config): Promise<void> {
  const names: SubgraphName[] = ['cases', 'partners', 'coverage', 'finance'];
  const connections = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await connectDatabase(config, n)] as const)),
  ) as Record<SubgraphName, Connection>;
  await seedReferenceData(connections);
  await Promise.all(Object.values(connections).map((c) => c.close()));
}

export async function startTestSystem(
  options: { cases?: number; seed?: number; config?: Config } = {},
): Promise<TestSystem> {
  const config = options.config ?? testConfig();
  const redis = createRedis(config, 'test-system');
  const names: SubgraphName[] = ['cases', 'partners', 'coverage', 'finance'];
  const connections = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await connectDatabase(config, n)] as const)),
  ) as Record<SubgraphName, Connection>;
  await seedReferenceData(connections);
  if (options.cases)
    await seedCases(connections, { count: options.cases, seed: options.seed ?? 7, caseIdKey: config.CASE_ID_KEY });
  const caseModels = casesModels(connections.cases);
  await resetStatisticsCheckpoint(caseModels, redis, config.QUEUE_PREFIX);
  await resetFinanceCheckpoint(ledgerModels(connections.finance), redis, config.QUEUE_PREFIX);
  // Each subgraph's process as its main.ts starts it, projectors included (on connections of
  // their own, so command counts on a subgraph's connection see only its work). Test-only
  // choices: free ports, no logs, one shared Redis, finance's fixed date, short blocking reads.
  const pieces: SubgraphPieces = { redis, today: () => '2024-06-01', blockMs: 200 };
  const common = { config, loggerFor: () => silentLogger, port: 0, pieces };
  const [cases, partners, coverage, finance] = await Promise.all([
    startSubgraphProcess(casesProcess, { ...common, connection: connections.cases }),
    startSubgraphProcess(partnersProcess, { ...common, connection: connections.partners }),
    startSubgraphProcess(coverageProcess, { ...common, connection: connections.coverage }),
    startSubgraphProcess(financeProcess, { ...common, connection: connections.finance }),
  ]);
  const projector = cases.background!.projector;
  const subgraphs: Record<SubgraphName, RunningService> = {
    cases: cases.service,
    partners: partners.service,
    coverage: coverage.service,
    finance: finance.service,
  };
  const gateway = await startGateway({
    config,
    logger: silentLogger,
    port: 0,
    subgraphUrls: {
      cases: `${subgraphs.cases.url}/graphql`,
      partners: `${subgraphs.partners.url}/graphql`,
      coverage: `${subgraphs.coverage.url}/graphql`,
      finance: `${subgraphs.finance.url}/graphql`,
    },
  });
  const gatewayUrl = `${gateway.url}/graphql`;
  const assignPartners = coverageClient(`${subgraphs.coverage.url}/graphql`, config.INTERNAL_SIGNING_KEY, 5_000);
  let feeds = 0;
  const as = async (principal: Principal | null) => ({
    authorization: principal ? `Bearer ${await mintToken(principal, config)}` : '',
  });
  const admin = await as({ subject: 'test-admin', role: 'ADMIN' });
  return {
    as,
    assignPartners,
    ingest: (memberState, records) =>
      processIngestChunk(
        { feedId: `test-feed-${++feeds}`, memberState, firstPosition: 0, records },
        caseModels,
        (events, onceKey) => publishCaseEvents(redis, config.QUEUE_PREFIX, events, onceKey),
        assignPartners,
        config.CASE_ID_KEY,
      ),
    config,
    redis,
    projector,
    connections,
    subgraphs,
    gateway,
    gatewayUrl,
    graphql: (query, variables, headers = {}) =>
      postGraphQL(gatewayUrl, query, variables, 'authorization' in headers ? headers : { ...admin, ...headers }),
    stop: async () => {
      await gateway.shutdown('test done');
      await redis.del(caseEventStream(config.QUEUE_PREFIX));
      redis.disconnect();
      // Test databases are left in place (each run's prefix is new): FerretDB 1.24 can die
      // with SIGBUS when a database file is dropped while its pool still maps it.
      // Each subgraph's shutdown closes its projector too, as in production.
      await Promise.all(names.map((n) => subgraphs[n].shutdown('test done')));
    },
  };
}

/** The header the gateway adds to every subgraph call, for tests that call a subgraph directly. */
export function asGateway(config: Config, principal: Principal | null = null): Record<string, string> {
  return { [PRINCIPAL_HEADER]: signPrincipal(principal, config.INTERNAL_SIGNING_KEY) };
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphQLBody<T> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLBody<T> };
}

/**
 * An ingestion worker on this system's store and queue, as the worker process runs one: for
 * tests that push feeds through the push API and wait for their reports. `name` names its Redis
 * connection; `assignPartners` replaces the coverage client (to make coverage fail, say).
 */
export function startTestWorker(
  system: TestSystem,
  name: string,
  options: { assignPartners?: AssignPartners } = {},
): Worker {
  return createIngestWorker({
    config: system.config,
    redis: createRedis(system.config, name),
    models: casesModels(system.connections.cases),
    feeds: feedModels(system.connections.cases),
    publish: (events) => publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, events),
    assignPartners: options.assignPartners ?? system.assignPartners,
    logger: silentLogger,
  });
}
