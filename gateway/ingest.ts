import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { mayPushFeeds, mayReadFeed, mayReadProfile } from '../shared/access.js';
import type { Principal } from '../shared/auth.js';
import type { Config } from '../shared/config.js';
import { BodyTooLargeError, readBody, sendJson, type RequestHandler } from '../shared/http.js';
import type { Logger } from '../shared/logger.js';
import { isErrorCode, type ErrorCode } from '../shared/errors.js';
import { sendProblem } from '../shared/problem-details.js';
import { traceCarrier } from '../shared/telemetry/index.js';
import {
  canonicalRecordSchema,
  chunkJobId,
  FeedStager,
  FeedSyntaxError,
  FeedTooLargeError,
  feedRecords,
  formatOf,
  limitBytes,
  profileDialect,
  profileSchema,
  queuedReport,
  readFeedReceipt,
  writeFeedReceipt,
  type ChunkReport,
  type FeedProfileRef,
  type FeedProfile,
  type FeedFormat,
  type FeedReceipt,
  type IngestChunkJob,
} from '../subgraphs/cases/ingestion/index.js';
import type { GatewayContext } from './datasource.js';
import { pushLimits, type PushRefusal } from './limits.js';
import type { ProfileCatalog } from './profiles.js';
import { multipartBoundary, MultipartError, parseMultipart, type MultipartPart } from './multipart.js';
import { PREVIEW_MAX_RECORDS, previewFeed } from './preview.js';
import { ingestOpenApiDocument, OPENAPI_PATH } from './openapi/index.js';

/** The canonical record as JSON Schema, generated from the validation the workers run. */
export const CANONICAL_RECORD_JSON_SCHEMA = {
  $id: 'https://avrr.example/ingest/v1/canonical-record.schema.json',
  title: 'AVRR canonical case record',
  ...zodToJsonSchema(canonicalRecordSchema, { target: 'jsonSchema7', $refStrategy: 'none' }),
};

const REPORT_QUERY =
  `query($id: ID!) { ingestionFeed(id: $id) { id memberState status counts { received ` +
  `created updated unchanged stale rejected }
  rejected { position line caseReference path message } rejectedOmitted profile { name version } errors createdAt } }`;

const RULES_QUERY = 'query($ms: ID!) { eligibilityRules(memberState: $ms) { requestWindowMonths } }';

/** The most columns a profile sent with a preview may map (no national export comes near it). */
export const PREVIEW_MAX_PROFILE_COLUMNS = 500;

/** A feed's format from a multipart file part: its content type, else its file name's extension. */
function partFormat(part: MultipartPart, profile: FeedProfile | undefined): FeedFormat | null {
  const declared = formatOf(part.contentType ?? undefined);
  if (declared) return declared;
  if (profile) return 'csv';
  const extension = /\.([A-Za-z]+)$/.exec(part.filename ?? '')?.[1]?.toLowerCase();
  return extension === 'csv'
    ? 'csv'
    : extension === 'json'
      ? 'json'
      : /^(nd)?jsonl?$/.test(extension ?? '')
        ? 'ndjson'
        : null;
}

/**
 * A profile sent with a preview, validated as an installed one is (profileSchema), or why not: the
 * first field at fault and every problem, in words.
 */
function parsedProfile(data: Buffer): { profile: FeedProfile } | { message: string; field: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return { message: `the profile part is not valid JSON: ${(error as Error).message.slice(0, 200)}`, field: '' };
  }
  const columns = (raw as { columns?: unknown } | null)?.columns;
  if (columns && typeof columns === 'object' && Object.keys(columns).length > PREVIEW_MAX_PROFILE_COLUMNS) {
    const count = Object.keys(columns).length;
    return {
      message: `profile: columns maps ${count} columns; a profile maps at most ${PREVIEW_MAX_PROFILE_COLUMNS}`,
      field: 'columns',
    };
  }
  const result = profileSchema.safeParse(raw);
  if (result.success) return { profile: result.data };
  const issues = result.error.issues;
  const field = issues[0]!.path.join('.');
  const listed = issues.slice(0, 10).map((i) => `${i.path.join('.') || '(profile)'} ${i.message}`);
  const more = issues.length > listed.length ? `; and ${issues.length - listed.length} more` : '';
  return { message: `profile: ${listed.join('; ')}${more}`.slice(0, 2_000), field };
}

/**
 * Every route the push API serves, as its OpenAPI document names them: the router serves these and no
 * other (test/integration/ingest-openapi.test.ts holds them to the document both ways).
 */
export const INGEST_ROUTES = [
  { method: 'GET', path: OPENAPI_PATH },
  { method: 'GET', path: '/ingest/v1/profiles' },
  { method: 'GET', path: '/ingest/v1/schema' },
  { method: 'POST', path: '/ingest/v1/feeds' },
  { method: 'GET', path: '/ingest/v1/feeds/{feedId}' },
  { method: 'POST', path: '/ingest/v1/preview' },
] as const;

type IngestRoute = (typeof INGEST_ROUTES)[number];

const FEED_REPORT_PATH = /^\/ingest\/v1\/feeds\/(feed_[0-9a-f-]{36})$/;

/** The route a request is for, with the feed id a report names; undefined when none serves it. */
export function ingestRouteOf(method: string, pathname: string): { route: IngestRoute; feedId?: string } | undefined {
  const feedId = FEED_REPORT_PATH.exec(pathname)?.[1];
  if (feedId) {
    const route = INGEST_ROUTES.find((r) => r.method === method && r.path === '/ingest/v1/feeds/{feedId}');
    return route ? { route, feedId } : undefined;
  }
  // A template is matched only by the pattern above, never by its own text.
  const route = INGEST_ROUTES.find((r) => r.method === method && r.path === pathname && !r.path.includes('{'));
  return route ? { route } : undefined;
}

/**
 * The OpenAPI document, public (it names no one's data) and cacheable: an ETag of its bytes, so a client
 * polling it gets 304 until a new gateway version serves another document.
 */
const openApiBody = (() => {
  let body: { text: string; etag: string } | undefined;
  return () => {
    if (!body) {
      const text = JSON.stringify(ingestOpenApiDocument());
      body = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
    }
    return body;
  };
})();

function sendOpenApiDocument(req: IncomingMessage, res: ServerResponse): void {
  const { text, etag } = openApiBody();
  const headers = { etag, 'cache-control': 'public, max-age=300' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** An error answer as RFC 9457 problem details (shared/problem-details.ts), the earlier body kept inside. */
const problem = (
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => sendProblem(res, status, code, message, extra, headers);

/**
 * The push API on the gateway's port: `POST /ingest/v1/feeds` (JSON array or {records},
 * NDJSON, or canonical CSV) answers 202 once every chunk is queued; `GET
 * /ingest/v1/feeds/{id}` reports; `POST /ingest/v1/preview` shows what a push of a file's first
 * records would do, storing nothing; `GET /ingest/v1/schema` gives the canonical record;
 * `GET /ingest/v1/profiles` lists the national CSV profiles; `GET /ingest/v1/openapi.json` describes them all
 * (gateway/openapi/). Errors are RFC 9457 problem details (README, Errors).
 */
export function ingestHandler(options: {
  config: Config;
  logger: Logger;
  redis: Redis;
  server: ApolloServer<GatewayContext>;
  authenticate: (req: IncomingMessage) => Promise<GatewayContext>;
  /** National CSV dialects by name: the managed profiles, live (gateway/profiles.ts). */
  profiles?: ProfileCatalog;
  queue: Queue<IngestChunkJob, ChunkReport>;
  onFeed?: (memberState: string, format: string) => void;
}): RequestHandler {
  const { config, redis, queue } = options;
  const limits = pushLimits(config, redis, options.logger);

  /**
   * 429 (or 503) naming the limit, with Retry-After; the body is not read, and the connection closes
   * after the answer.
   */
  function refuse(req: IncomingMessage, res: ServerResponse, refusal: PushRefusal): void {
    res.setHeader('connection', 'close');
    req.resume();
    sendProblem(
      res,
      refusal.status,
      isErrorCode(refusal.code) ? refusal.code : 'INTERNAL_SERVER_ERROR',
      refusal.message,
      { limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds },
      { 'retry-after': String(refusal.retryAfterSeconds) },
    );
  }

  async function principalOf(req: IncomingMessage, res: ServerResponse): Promise<Principal | null | undefined> {
    try {
      const { principal } = await options.authenticate(req);
      if (!principal)
        problem(res, 401, 'UNAUTHENTICATED', 'Send "Authorization: Bearer <token>" of a Member State authority');
      return principal ?? undefined;
    } catch (error) {
      problem(res, 401, 'UNAUTHENTICATED', (error as Error).message);
      return undefined;
    }
  }

  /**
   * The installed profiles a principal may read (README, Managing profiles): a Member State
   * authority its own and the shared ones, operators all, anyone else none. Another Member
   * State's export format is its own business, so neither the list nor a refusal names it.
   */
  function readableProfiles(principal: Principal): FeedProfile[] {
    return [...(options.profiles?.values() ?? [])].filter((p) => mayReadProfile(principal, p.memberState));
  }

  /**
   * The installed profile a request names (`?profile=` or `X-Feed-Profile`): undefined when it names
   * none, null once it was answered 400 because no such profile exists.
   */
  function installedProfile(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    principal: Principal,
  ): FeedProfile | undefined | null {
    const profileName = url.searchParams.get('profile') ?? (req.headers['x-feed-profile'] as string | undefined);
    if (profileName && options.profiles && !options.profiles.loaded()) {
      // Not yet read from the cases subgraph: "unknown" would be a wrong, final answer.
      problem(
        res,
        503,
        'SERVICE_UNAVAILABLE',
        'The feed profiles are not loaded yet; retry shortly',
        {},
        {
          'retry-after': '5',
        },
      );
      return null;
    }
    const profile = profileName ? options.profiles?.get(profileName) : undefined;
    if (profileName && !profile) {
      problem(
        res,
        400,
        'UNKNOWN_PROFILE',
        `No profile "${profileName.slice(0, 40)}"; ` +
          `known: ${
            readableProfiles(principal)
              .map((p) => p.name)
              .join(', ') || 'none'
          }`,
      );
      return null;
    }
    return profile;
  }

  /** A profile reads CSV of its own Member State only: false once the request was answered (415 or 403). */
  function profileAllowed(
    res: ServerResponse,
    profile: FeedProfile | undefined,
    format: FeedFormat,
    principal: Principal,
  ): boolean {
    if (profile && format !== 'csv') {
      problem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Profiles describe CSV dialects: send text/csv');
      return false;
    }
    if (profile?.memberState && profile.memberState !== principal.memberState) {
      problem(res, 403, 'FORBIDDEN', `Profile ${profile.name} is ${profile.memberState}'s national system`);
      return false;
    }
    return true;
  }

  /** Checks the principal, admits the request under the push limits and runs `work`: a preview counts as a push. */
  async function admitted(
    req: IncomingMessage,
    res: ServerResponse,
    work: (principal: Principal) => Promise<void>,
  ): Promise<void> {
    const principal = await principalOf(req, res);
    if (!principal) return void req.resume();
    if (!mayPushFeeds(principal))
      return void (req.resume(), problem(res, 403, 'FORBIDDEN', 'Feeds are pushed by Member State authorities'));
    // Pushes per minute and in flight per Member State (README, Pushing a feed): checked before the body is read.
    const slot = await limits.admit(principal.memberState!, randomUUID());
    if ('status' in slot) return refuse(req, res, slot);
    try {
      await work(principal);
    } finally {
      await slot.release();
    }
  }

  /** The Member State's request window, as the worker reads it; the default when the store cannot say now. */
  async function requestWindowOf(principal: Principal): Promise<number> {
    const result = await options.server.executeOperation(
      { query: RULES_QUERY, variables: { ms: principal.memberState } },
      // The gateway's own query for the caller (not the client's document): no safelist, no rate count.
      { contextValue: { principal, internal: true } },
    );
    const single = result.body.kind === 'single' ? result.body.singleResult : undefined;
    const rules = (single?.data as { eligibilityRules?: { requestWindowMonths?: unknown } } | undefined)
      ?.eligibilityRules;
    return typeof rules?.requestWindowMonths === 'number' ? rules.requestWindowMonths : 6;
  }

  /**
   * `POST /ingest/v1/preview`: a feed body (JSON, NDJSON, CSV, with `?profile=` for a national CSV), or
   * `multipart/form-data` with a `file` part and an optional `profile` part (a profile not yet installed).
   * At most MAX_BODY_BYTES are read, and of them the first PREVIEW_MAX_RECORDS records; nothing is staged,
   * queued or stored.
   */
  async function preview(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal): Promise<void> {
    let boundary: string | null;
    try {
      boundary = multipartBoundary(req.headers['content-type']);
    } catch (error) {
      req.resume();
      return problem(res, 400, 'BAD_REQUEST', (error as MultipartError).message);
    }
    const bodyFormat = boundary ? null : formatOf(req.headers['content-type']);
    if (!boundary && !bodyFormat) {
      req.resume();
      return problem(
        res,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send application/json, application/x-ndjson, text/csv (UTF-8, or as the profile says), or ' +
          'multipart/form-data with a "file" part and an optional "profile" part',
      );
    }
    const named = installedProfile(req, res, url, principal);
    if (named === null) return void req.resume();
    let body: Buffer;
    try {
      body = await readBody(req, config.MAX_BODY_BYTES);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      res.setHeader('connection', 'close');
      return problem(
        res,
        413,
        'PAYLOAD_TOO_LARGE',
        `a preview reads at most ${config.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES), of which the first ` +
          `${PREVIEW_MAX_RECORDS} records: send the start of the file`,
      );
    }
    let profile = named;
    let source: 'installed' | 'request' | null = named ? 'installed' : null;
    let format = bodyFormat;
    if (boundary) {
      let parts: Map<string, MultipartPart>;
      try {
        parts = parseMultipart(body, boundary);
      } catch (error) {
        if (!(error instanceof MultipartError)) throw error;
        return problem(res, 400, 'BAD_REQUEST', `not valid multipart/form-data: ${error.message}`);
      }
      const unexpected = [...parts.keys()].filter((name) => name !== 'file' && name !== 'profile');
      if (unexpected.length > 0)
        return problem(res, 400, 'BAD_REQUEST', `unexpected part "${unexpected[0]!.slice(0, 40)}": send file, profile`);
      const file = parts.get('file');
      if (!file) return problem(res, 400, 'BAD_REQUEST', 'the "file" part (the export to preview) is missing');
      const sent = parts.get('profile');
      if (sent) {
        if (named)
          return problem(res, 400, 'BAD_REQUEST', 'name an installed profile or send one in the body, not both');
        const parsed = parsedProfile(sent.data);
        if ('message' in parsed) return problem(res, 400, 'BAD_REQUEST', parsed.message, { field: parsed.field });
        profile = parsed.profile;
        source = 'request';
      }
      format = partFormat(file, profile);
      if (!format)
        return problem(
          res,
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'the "file" part needs Content-Type text/csv, application/json or application/x-ndjson ' +
            '(or a .csv, .json, .ndjson file name)',
        );
      body = file.data;
    }
    if (!profileAllowed(res, profile, format!, principal)) return;
    const preview = await previewFeed(body, format!, profile, {
      memberState: principal.memberState!,
      requestWindowMonths: await requestWindowOf(principal),
      now: new Date(),
      problemsPerRecord: config.INGEST_MAX_PROBLEMS_PER_RECORD,
    });
    sendJson(res, 200, {
      preview: true,
      stored: false,
      profile: profile ? { name: profile.name, memberState: profile.memberState ?? null, source } : null,
      limits: { maxRecords: PREVIEW_MAX_RECORDS, maxBodyBytes: config.MAX_BODY_BYTES },
      ...preview,
    });
  }

  function push(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    return admitted(req, res, (principal) => receive(req, res, url, principal));
  }

  async function receive(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal): Promise<void> {
    const format = formatOf(req.headers['content-type']);
    if (!format) {
      req.resume();
      return problem(
        res,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send application/json, application/x-ndjson or text/csv (UTF-8)',
      );
    }
    const named = installedProfile(req, res, url, principal);
    if (named === null) return void req.resume();
    const profile = named;
    if (!profileAllowed(res, profile, format, principal)) return void req.resume();
    // The version read now is the one the feed is read with, whatever a reload brings meanwhile.
    const profileRef: FeedProfileRef | null = profile
      ? { name: profile.name, version: options.profiles?.versionOf(profile) ?? 0 }
      : null;
    const idempotencyKey = req.headers['idempotency-key'];
    if (
      idempotencyKey !== undefined &&
      (typeof idempotencyKey !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}$/.test(idempotencyKey))
    ) {
      req.resume();
      return problem(res, 400, 'BAD_REQUEST', 'Idempotency-Key must be 1-200 letters, digits, _ . : -');
    }
    const idemKey = idempotencyKey
      ? `${config.QUEUE_PREFIX}:feed-idempotency:${principal.memberState}:${idempotencyKey}`
      : undefined;
    /**
     * A retry answers the feed's current status and counts (its report), not the QUEUED of the first
     * answer: a feed long finished says so. When the store cannot be asked now, the status is null
     * (unknown), never a guess; the report link gives it later.
     */
    const repeated = async (existing: string) => {
      const current = await currentReport(principal, existing);
      const found = current.kind === 'report' ? current.report : undefined;
      const receipt = found ? undefined : await readFeedReceipt(redis, config.QUEUE_PREFIX, existing);
      const counts = found?.counts as { received?: unknown } | undefined;
      return sendJson(res, 202, {
        feedId: existing,
        received: typeof counts?.received === 'number' ? counts.received : (receipt?.received ?? null),
        status: typeof found?.status === 'string' ? found.status : null,
        counts: found?.counts ?? null,
        replayed: true,
        report: `/ingest/v1/feeds/${existing}`,
      });
    };
    // A retry of a push already taken: answered without reading (or processing) it again.
    const known = idemKey ? await redis.get(idemKey) : null;
    if (known) return void (req.resume(), await repeated(known));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > config.INGEST_MAX_BODY_BYTES) {
      res.setHeader('connection', 'close');
      req.resume();
      return problem(
        res,
        413,
        'PAYLOAD_TOO_LARGE',
        `the feed exceeds the limit of ${config.INGEST_MAX_BODY_BYTES} bytes; split the feed`,
      );
    }

    // Read, check and stage the feed as it streams in; nothing is queued until all of it is read.
    const feedId = `feed_${randomUUID()}`;
    const stager = new FeedStager(
      redis,
      config.QUEUE_PREFIX,
      feedId,
      config.INGEST_CHUNK_SIZE,
      Math.round(config.INGEST_STAGED_DAYS * 86_400),
      config.INGEST_CHUNK_MAX_BYTES,
    );
    try {
      // Stopping early (a syntax error) must not destroy the socket the answer goes out on.
      const body = limitBytes(req.iterator({ destroyOnReturn: false }), config.INGEST_MAX_BODY_BYTES);
      for await (const entry of feedRecords(body, format, profile ? profileDialect(profile) : {}))
        await stager.add(entry);
      await stager.flush();
    } catch (error) {
      await stager.discard();
      if (!(error instanceof FeedSyntaxError || error instanceof FeedTooLargeError)) throw error;
      // Drain what the sender is still sending, so it reads the answer, then close.
      res.setHeader('connection', 'close');
      req.resume();
      if (error instanceof FeedSyntaxError)
        return problem(res, 400, 'MALFORMED_FEED', `${error.message}; nothing was queued`, {
          line: error.line,
          column: error.column,
        });
      return problem(res, 413, 'PAYLOAD_TOO_LARGE', `${error.message}; split the feed, nothing was queued`);
    }
    if (stager.received === 0) return problem(res, 400, 'EMPTY_FEED', 'The feed has no records; nothing was queued');

    if (idemKey) {
      // First push with this key wins; a concurrent twin gets the winner's feed back.
      const won = await redis.set(idemKey, feedId, 'EX', 7 * 86_400, 'NX');
      if (won !== 'OK') {
        await stager.discard();
        return repeated((await redis.get(idemKey)) ?? feedId);
      }
    }
    const totalChunks = stager.keys.length;
    const received = stager.received;
    const memberState = principal.memberState!;
    const receipt: FeedReceipt = {
      feedId,
      memberState,
      received,
      totalChunks,
      createdAt: new Date().toISOString(),
      profile: profileRef,
    };
    try {
      await stager.commit();
      await writeFeedReceipt(redis, config.QUEUE_PREFIX, receipt);
      const carrier = traceCarrier();
      const jobs = stager.keys.map((payloadKey, chunkIndex) => ({
        name: 'chunk',
        data: {
          feedId,
          memberState,
          firstPosition: stager.firstPositions[chunkIndex]!,
          payloadKey,
          totalChunks,
          chunkIndex,
          received,
          queuedAt: receipt.createdAt,
          profile: profileRef,
          ...(carrier ? { trace: carrier } : {}),
        } satisfies IngestChunkJob,
        opts: {
          jobId: chunkJobId(feedId, chunkIndex),
          // Fairness: chunk n of every feed goes before chunk n+1 of any feed, so a Member
          // State pushing a huge feed does not starve another's small one.
          priority: Math.min(chunkIndex + 1, 2_097_151),
          attempts: config.INGEST_ATTEMPTS,
          backoff: { type: 'exponential', delay: config.INGEST_BACKOFF_MS },
          removeOnComplete: { age: 86_400 },
          removeOnFail: false,
        },
      }));
      for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
    } catch (error) {
      if (idemKey) await redis.del(idemKey);
      throw error;
    }
    options.logger.info(
      { feedId, memberState: principal.memberState, received, chunks: totalChunks, format },
      'feed queued',
    );
    options.onFeed?.(principal.memberState!, profile ? `csv:${profile.name}` : format);
    sendJson(res, 202, { feedId, received, status: 'QUEUED', report: `/ingest/v1/feeds/${feedId}` });
  }

  /**
   * A feed's current report for the principal: the store's, else (no chunk stored yet) the receipt's
   * QUEUED one; `unavailable` when the store could not be asked now, `missing` when the feed is not theirs.
   */
  async function currentReport(
    principal: Principal,
    feedId: string,
  ): Promise<
    | { kind: 'report'; report: Record<string, unknown> }
    | { kind: 'unavailable'; code: ErrorCode; message: string; serviceName?: string }
    | { kind: 'missing' }
  > {
    const result = await options.server.executeOperation(
      { query: REPORT_QUERY, variables: { id: feedId } },
      // The gateway's own query for the caller (not the client's document): no safelist, no rate count.
      { contextValue: { principal, internal: true } },
    );
    const single = result.body.kind === 'single' ? result.body.singleResult : undefined;
    const feed = (single?.data as { ingestionFeed?: Record<string, unknown> | null } | undefined)?.ingestionFeed;
    if (feed) return { kind: 'report', report: feed };
    const failure = single
      ? single.errors?.[0]
      : { message: 'unexpected incremental response', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    if (failure) {
      // The store could not be asked (the cases subgraph slow or down): the state is not known
      // now, and what the gateway queued may be long past. Never answered as QUEUED.
      const code =
        failure.extensions?.code === 'SUBGRAPH_UNAVAILABLE' || failure.extensions?.code === 'SUBGRAPH_ERROR'
          ? failure.extensions.code
          : 'INTERNAL_SERVER_ERROR';
      const serviceName = failure.extensions?.serviceName;
      return {
        kind: 'unavailable',
        code,
        message: failure.message,
        ...(typeof serviceName === 'string' ? { serviceName } : {}),
      };
    }
    // The store has no chunk of the feed yet: its report by the store's rule from no chunks
    // (QUEUED), with what the push API's receipt says was received.
    const receipt = await readFeedReceipt(redis, config.QUEUE_PREFIX, feedId);
    if (!receipt || !mayReadFeed(principal, receipt.memberState)) return { kind: 'missing' };
    // The fields REPORT_QUERY asks the graph for, so both answers have one shape.
    const { chunks: _chunks, ...answer } = queuedReport(receipt);
    return { kind: 'report', report: answer };
  }

  async function report(req: IncomingMessage, res: ServerResponse, feedId: string): Promise<void> {
    const principal = await principalOf(req, res);
    if (!principal) return;
    const current = await currentReport(principal, feedId);
    if (current.kind === 'report') return sendJson(res, 200, current.report);
    if (current.kind === 'missing') return problem(res, 404, 'NOT_FOUND', `Feed ${feedId} was not found`);
    return problem(
      res,
      503,
      current.code,
      `The report of feed ${feedId} could not be read now (${current.message}); retry: a ` +
        `report answers the feed's state or nothing`,
      current.serviceName ? { serviceName: current.serviceName } : {},
      { 'retry-after': '5' },
    );
  }

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (!url.pathname.startsWith('/ingest/v1/')) return false;
    const found = ingestRouteOf(req.method ?? 'GET', url.pathname);
    if (!found) {
      problem(res, 404, 'NOT_FOUND', `No route ${req.method} ${url.pathname.slice(0, 200)}`);
      return true;
    }
    try {
      switch (found.route.path) {
        case OPENAPI_PATH:
          sendOpenApiDocument(req, res);
          break;
        case '/ingest/v1/profiles': {
          const principal = await principalOf(req, res);
          if (!principal) break;
          const catalog = options.profiles;
          sendJson(
            res,
            200,
            catalog ? readableProfiles(principal).map((p) => ({ ...p, version: catalog.versionOf(p) })) : [],
          );
          break;
        }
        case '/ingest/v1/schema':
          sendJson(res, 200, CANONICAL_RECORD_JSON_SCHEMA);
          break;
        case '/ingest/v1/feeds':
          await push(req, res, url);
          break;
        case '/ingest/v1/preview':
          await admitted(req, res, (principal) => preview(req, res, url, principal));
          break;
        case '/ingest/v1/feeds/{feedId}':
          await report(req, res, found.feedId!);
          break;
      }
    } catch (error) {
      // A failure inside is answered as the document says (a problem), not as the server's GraphQL-shaped 500.
      options.logger.error({ err: error, path: found.route.path }, 'push API request failed');
      req.resume();
      if (res.headersSent) {
        res.destroy();
      } else {
        res.setHeader('connection', 'close');
        problem(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error; the gateway logged it');
      }
    }
    return true;
  };
  return handler;
}
