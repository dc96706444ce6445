import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_DEFINITIONS, type ErrorCode } from '../../shared/errors.js';

// `.openapi()` on zod schemas, including those the ingestion code built before this module loaded.
extendZodWithOpenApi(z);

/**
 * What the push API answers, as zod schemas for its OpenAPI document (gateway/openapi/document.ts). What it
 * takes in (the canonical record, a profile) is validated by the ingestion code's own schemas, which the
 * document registers as they are; these describe the answers, which no schema described before.
 */

const FEED_STATUSES = ['QUEUED', 'PROCESSING', 'DONE', 'DONE_WITH_ERRORS', 'FAILED'] as const;
const ERROR_CODES = Object.keys(ERROR_DEFINITIONS) as [ErrorCode, ...ErrorCode[]];

export const feedIdSchema = z
  .string()
  .regex(/^feed_[0-9a-f-]{36}$/)
  .openapi({ example: 'feed_0b6f7c2e-3f5d-4a53-9d6e-2d1c1c9a4f10' });

const feedCountsSchema = z.object({
  received: z.number().int().min(0),
  created: z.number().int().min(0),
  updated: z.number().int().min(0),
  unchanged: z.number().int().min(0),
  stale: z.number().int().min(0),
  rejected: z.number().int().min(0),
});

export const feedAcceptedSchema = z
  .object({
    feedId: feedIdSchema,
    /** Null only on a retry whose feed's receipt and report are both gone. */
    received: z.number().int().min(0).nullable(),
    /** A new push: QUEUED. A retry with the same Idempotency-Key: the feed's status now (null: unknown now). */
    status: z.enum(FEED_STATUSES).nullable(),
    counts: feedCountsSchema.nullable().optional(),
    replayed: z.literal(true).optional(),
    report: z.string().regex(/^\/ingest\/v1\/feeds\/feed_[0-9a-f-]{36}$/),
  })
  .strict()
  .openapi('FeedAccepted', {
    description:
      'A push taken (202). A retry with the same Idempotency-Key is answered with `replayed: true` and the ' +
      "feed's current status and counts; its body is not read again.",
  });

export const feedReportSchema = z
  .object({
    id: feedIdSchema,
    memberState: z.string(),
    status: z.enum(FEED_STATUSES),
    counts: feedCountsSchema,
    rejected: z.array(
      z
        .object({
          position: z.number().int().min(0),
          line: z.number().int().nullable(),
          caseReference: z.string().nullable(),
          path: z.string(),
          message: z.string(),
        })
        .strict(),
    ),
    rejectedOmitted: z.number().int().min(0),
    profile: z.object({ name: z.string(), version: z.number().int() }).strict().nullable(),
    errors: z.array(z.string()),
    createdAt: z.string().datetime({ offset: true }),
  })
  .strict()
  .openapi('FeedReport', { description: "A feed's report: the store's, or QUEUED until it has a chunk." });

const previewProblemSchema = z
  .object({ path: z.string(), column: z.string().nullable(), line: z.number().int().nullable(), message: z.string() })
  .strict();

export const feedPreviewSchema = z
  .object({
    preview: z.literal(true),
    stored: z.literal(false),
    profile: z
      .object({ name: z.string(), memberState: z.string().nullable(), source: z.enum(['installed', 'request']) })
      .strict()
      .nullable(),
    limits: z.object({ maxRecords: z.number().int(), maxBodyBytes: z.number().int() }).strict(),
    format: z.enum(['json', 'ndjson', 'csv']),
    ok: z.boolean(),
    truncated: z.boolean(),
    counts: z.object({ read: z.number().int(), accepted: z.number().int(), rejected: z.number().int() }).strict(),
    feedError: z
      .object({
        code: z.enum(['MALFORMED_FEED', 'PAYLOAD_TOO_LARGE', 'EMPTY_FEED']),
        message: z.string(),
        line: z.number().int().nullable(),
        column: z.union([z.number().int(), z.string()]).nullable(),
      })
      .strict()
      .nullable(),
    rows: z.array(
      z
        .object({
          position: z.number().int().min(0),
          line: z.number().int().nullable(),
          caseReference: z.string().nullable(),
          accepted: z.boolean(),
          record: z.record(z.unknown()).nullable().openapi({ description: 'The canonical record it becomes' }),
          eligibility: z
            .object({ outcome: z.string(), reasons: z.array(z.string()), requestDate: z.string().nullable() })
            .strict()
            .nullable(),
          mapped: z.unknown().openapi({ description: 'What the reader and the profile made of the row' }),
          problems: z.array(previewProblemSchema),
        })
        .strict(),
    ),
    requestWindowMonths: z.number().int(),
    notChecked: z.array(z.string()),
  })
  .strict()
  .openapi('FeedPreview', { description: 'What a push of the first records would do; nothing is stored.' });

export const problemSchema = z
  .object({
    type: z.string().url(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    instance: z.string().optional(),
    code: z.enum(ERROR_CODES),
    error: z
      .object({ code: z.enum(ERROR_CODES), message: z.string() })
      .passthrough()
      .openapi({ deprecated: true, description: 'The body before problem details: `code` and `detail` again.' }),
    line: z.number().int().nullable().optional(),
    column: z.union([z.number().int(), z.string()]).nullable().optional(),
    field: z.string().optional(),
    limit: z.string().optional(),
    retryAfterSeconds: z.number().int().optional(),
    serviceName: z.string().optional(),
  })
  .passthrough()
  .openapi('Problem', {
    description:
      'RFC 9457 problem details with the named `code` (README, Errors) and, where it applies, where the ' +
      'fault is (`line`, `column`, `field`) or which limit refused it (`limit`, `retryAfterSeconds`).',
  });
