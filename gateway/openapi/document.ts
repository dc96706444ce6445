import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { canonicalRecordSchema, profileSchema } from '../../subgraphs/cases/ingestion/index.js';
import { PROBLEM_CONTENT_TYPE } from '../../shared/problem-details.js';
import { feedAcceptedSchema, feedIdSchema, feedPreviewSchema, feedReportSchema, problemSchema } from './schemas.js';

/**
 * The push API's OpenAPI 3.1 document (README, "The push API's OpenAPI document"), generated at startup from
 * the schemas the code validates with: the canonical record the workers check every record against and the
 * profile schema a profile is checked against, registered as they are, plus the answers (./schemas.ts).
 * test/integration/ingest-openapi.test.ts checks real requests' answers against it, route by route.
 */

export const OPENAPI_PATH = '/ingest/v1/openapi.json';

/** The version of the push API the document describes (its paths are /ingest/v1). */
const API_VERSION = '1.0.0';

const problem = (description: string): ResponseConfig => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
});

const retryAfter = z.string().regex(/^\d+$/).openapi({ description: 'Seconds to wait before trying again' });

/** The answers every authenticated route may give besides its own. */
const AUTHENTICATED_ERRORS: Record<string, ResponseConfig> = {
  '401': problem('UNAUTHENTICATED: no bearer token, or one that is invalid or expired'),
  '500': problem('INTERNAL_SERVER_ERROR: something failed inside (logged by the gateway)'),
};

/** The answers of a route that pushes (a feed or a preview): the push limits, the media types, the profile. */
const PUSH_ERRORS: Record<string, ResponseConfig> = {
  ...AUTHENTICATED_ERRORS,
  '400': problem('MALFORMED_FEED (`line`, `column`), EMPTY_FEED, UNKNOWN_PROFILE or BAD_REQUEST; nothing queued'),
  '403': problem('FORBIDDEN: not a Member State authority, or a profile of another Member State'),
  '413': problem('PAYLOAD_TOO_LARGE: over INGEST_MAX_BODY_BYTES (a feed) or MAX_BODY_BYTES (a preview)'),
  '415': problem('UNSUPPORTED_MEDIA_TYPE: another content type, or a profile with a body that is not CSV'),
  '429': {
    ...problem('RATE_LIMITED or TOO_MANY_PUSHES_IN_FLIGHT for the Member State (`limit`, `retryAfterSeconds`)'),
    headers: z.object({ 'retry-after': retryAfter }),
  },
  '503': {
    ...problem('SERVICE_UNAVAILABLE: the limits or the profiles cannot be checked now'),
    headers: z.object({ 'retry-after': retryAfter }),
  },
};

const profileQuery = z.object({
  profile: z
    .string()
    .max(40)
    .optional()
    .openapi({ description: 'An installed national CSV profile to read the body with (or `X-Feed-Profile`)' }),
});

/** A feed body by media type; JSON holds canonical records (the worker validates each with `record`). */
const feedBody = (record: typeof canonicalRecordSchema) => ({
  'application/json': {
    schema: z.union([z.array(record), z.object({ records: z.array(record) })]),
  },
  'application/x-ndjson': {
    schema: z.string().openapi({ description: 'One canonical record (JSON) per line' }),
  },
  'text/csv': {
    schema: z.string().openapi({ description: 'Canonical CSV, or the dialect of the profile named' }),
  },
});

function registry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A token of a Member State authority (`npm run token -- --role MEMBER_STATE --member-state BE`)',
  });
  const security = [{ [bearer.name]: [] }];
  const record = registry.register('CanonicalRecord', canonicalRecordSchema);
  const profile = registry.register('FeedProfile', profileSchema);

  registry.registerPath({
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    responses: {
      '200': {
        description: 'The OpenAPI 3.1 document of the push API',
        content: { 'application/json': { schema: z.record(z.unknown()) } },
      },
      '304': { description: "Not modified: the ETag sent in If-None-Match is still the document's" },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/ingest/v1/schema',
    operationId: 'getCanonicalRecordSchema',
    summary: 'The canonical record as JSON Schema (draft 7), as the workers validate every record',
    responses: {
      '200': { description: 'JSON Schema', content: { 'application/json': { schema: z.record(z.unknown()) } } },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/ingest/v1/profiles',
    operationId: 'listProfiles',
    summary:
      'The installed national CSV profiles the caller may read (a Member State its own and the shared ones, ' +
      'operators all), each at its latest active version',
    security,
    responses: {
      ...AUTHENTICATED_ERRORS,
      '200': {
        description: 'The profiles',
        content: {
          'application/json': {
            // The profile schema itself (it allows no other member) with the version this gateway has of it.
            schema: z.array(
              profileSchema
                .innerType()
                .extend({ version: z.number().int().min(1).optional() })
                .openapi('InstalledFeedProfile'),
            ),
          },
        },
      },
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/ingest/v1/feeds',
    operationId: 'pushFeed',
    summary: 'Push a feed: 202 once every chunk is queued; the workers store it',
    security,
    request: {
      query: profileQuery,
      headers: z.object({
        'idempotency-key': z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
          .optional()
          .openapi({ description: "A retry with the same key answers the first push's feed, as it is now" }),
      }),
      body: { required: true, content: feedBody(record) },
    },
    responses: {
      '202': {
        description: 'Queued (or a retry answered)',
        content: { 'application/json': { schema: feedAcceptedSchema } },
      },
      ...PUSH_ERRORS,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/ingest/v1/feeds/{feedId}',
    operationId: 'getFeedReport',
    summary: "A feed's report: status, counts and the rejected records with where and why",
    security,
    request: { params: z.object({ feedId: feedIdSchema }) },
    responses: {
      '200': { description: 'The report', content: { 'application/json': { schema: feedReportSchema } } },
      ...AUTHENTICATED_ERRORS,
      '404': problem("NOT_FOUND: no such feed, or another Member State's"),
      '503': {
        ...problem('SUBGRAPH_UNAVAILABLE (`serviceName`) or SUBGRAPH_ERROR: the store cannot be asked now'),
        headers: z.object({ 'retry-after': retryAfter }),
      },
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/ingest/v1/preview',
    operationId: 'previewFeed',
    summary: 'What a push of the first records would do; nothing is staged, queued or stored',
    security,
    request: {
      query: profileQuery,
      body: {
        required: true,
        content: {
          ...feedBody(record),
          'multipart/form-data': {
            schema: z.object({
              file: z.string().openapi({ format: 'binary', description: 'The export to preview' }),
              profile: profile.optional().openapi({ description: 'A profile not yet installed' }),
            }),
          },
        },
      },
    },
    responses: {
      '200': { description: 'The preview', content: { 'application/json': { schema: feedPreviewSchema } } },
      ...PUSH_ERRORS,
    },
  });
  return registry;
}

let cached: ReturnType<OpenApiGeneratorV31['generateDocument']> | undefined;

/** The document, generated once per process (it depends on no configuration). */
export function ingestOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  cached ??= new OpenApiGeneratorV31(registry().definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'AVRR push API',
      version: API_VERSION,
      description:
        'National systems push case feeds (JSON, NDJSON, canonical or national CSV) and read their reports. ' +
        "Errors are RFC 9457 problem details with the named `code` of the README's error table.",
    },
  });
  return cached;
}

/** Where the document is committed, readable without a running gateway (scripts/openapi.ts writes it). */
export const OPENAPI_FILE = new URL('../../docs/ingest-openapi.json', import.meta.url);

/** The document as committed: two-space JSON with a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(ingestOpenApiDocument(), null, 2)}\n`;
}
