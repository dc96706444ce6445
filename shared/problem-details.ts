import type { ServerResponse } from 'node:http';
import type { ErrorCode } from './errors.js';

/**
 * REST errors as RFC 9457 problem details (README, Errors): `application/problem+json` with `type`, `title`,
 * `status`, `detail` and `instance`, plus the project's named `code` and whatever locates the fault (`line`,
 * `column`, `field`, `limit`, ...). The body the push API answered before, `{ "error": { "code", "message" } }`,
 * stays in it as the `error` extension member, so a client written against it keeps working.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Where each code's problem type is named: one URI per named code, stable across occurrences. */
export const PROBLEM_TYPE_BASE = 'https://avrr.example/problems/';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: ErrorCode;
  /** Deprecated: the earlier body, kept for clients that read it. */
  error: { code: ErrorCode; message: string } & Record<string, unknown>;
  [extension: string]: unknown;
}

/** A code's title: the same for every occurrence, as the RFC asks ("MALFORMED_FEED" → "Malformed feed"). */
export function problemTitle(code: ErrorCode): string {
  const words = code.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Extension members may not replace the members the RFC and this project define. */
const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'error']);

/** The problem details of one error; `extra` locates it (line, column, field) and must not shadow the members. */
export function problemDetails(
  status: number,
  code: ErrorCode,
  detail: string,
  options: { instance?: string; extra?: Record<string, unknown> } = {},
): ProblemDetails {
  const extra = Object.fromEntries(Object.entries(options.extra ?? {}).filter(([key]) => !RESERVED.has(key)));
  return {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: problemTitle(code),
    status,
    detail,
    ...(options.instance ? { instance: options.instance } : {}),
    code,
    ...extra,
    error: { code, message: detail, ...extra },
  };
}

/** The path a response answers (the occurrence's `instance`), without its query, which may carry names. */
function instanceOf(res: ServerResponse): string | undefined {
  const url = res.req?.url;
  if (!url) return undefined;
  return url.split('?')[0]!.slice(0, 200);
}

/** Answers `status` as problem details, with `headers` (Retry-After, Connection) besides. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(problemDetails(status, code, detail, { instance: instanceOf(res), extra }));
  res.writeHead(status, {
    'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
