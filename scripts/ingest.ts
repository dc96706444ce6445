/**
 * npm run ingest -- --member-state BE --file feed.csv [--profile NAME] [--url http://localhost:4000] [--token JWT]
 * Pushes a file drop through the push API, shows progress, prints the report.
 * Exit 0: every record stored; 1: some records rejected; 3: the feed failed; 2: usage or transport error.
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { mintToken } from '../shared/auth.js';
import { loadConfigOrExit } from '../shared/config.js';
import { MEMBER_STATE_CODES } from '../shared/domain.js';

const USAGE =
  'usage: npm run ingest -- --member-state XX --file PATH [--profile NAME] [--url URL] [--token JWT] ' +
  '[--idempotency-key KEY]';
const fail = (message: string, code = 2): never => {
  process.stderr.write(`${message}\n${code === 2 ? `${USAGE}\n` : ''}`);
  process.exit(code);
};

let values: Record<string, string | undefined> = {};
try {
  ({ values } = parseArgs({
    options: {
      'member-state': { type: 'string' },
      file: { type: 'string' },
      profile: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'idempotency-key': { type: 'string' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
const memberState = values['member-state'] ?? '';
if (!MEMBER_STATE_CODES.has(memberState))
  fail(
    `--member-state must be a participating Member State (ISO alpha-2, capitals), got ${JSON.stringify(memberState)}`,
  );
if (!values.file) fail('--file is required');
const config = loadConfigOrExit();
const base = (values.url ?? `http://127.0.0.1:${config.GATEWAY_PORT}`).replace(/\/$/, '');
const contentType = values.profile
  ? 'text/csv'
  : (
      {
        '.csv': 'text/csv',
        '.ndjson': 'application/x-ndjson',
        '.jsonl': 'application/x-ndjson',
        '.json': 'application/json',
      } as Record<string, string>
    )[extname(values.file!).toLowerCase()];
if (!contentType) fail(`cannot tell the format of ${values.file}: use .csv, .json, .ndjson or --profile`);
let size = 0;
try {
  const stat = statSync(values.file!);
  if (!stat.isFile()) throw new Error('not a file');
  size = stat.size;
} catch (error) {
  fail(`cannot read ${values.file}: ${(error as Error).message}`);
}
// Locally, a token for the Member State is minted with the development secret.
const token =
  values.token ??
  (await mintToken(
    { subject: `file-drop-${memberState.toLowerCase()}`, role: 'MEMBER_STATE', memberState },
    config,
    3600,
  ));

interface Report {
  status: string;
  counts: { received: number; created: number; updated: number; unchanged: number; stale: number; rejected: number };
  rejected: Array<{
    position: number;
    line: number | null;
    caseReference: string | null;
    path: string;
    message: string;
  }>;
  errors: string[];
}

const query = values.profile ? `?profile=${encodeURIComponent(values.profile)}` : '';
let response: Response;
try {
  response = await fetch(`${base}/ingest/v1/feeds${query}`, {
    method: 'POST',
    headers: {
      'content-type': contentType!,
      'content-length': String(size),
      authorization: `Bearer ${token}`,
      ...(values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : {}),
    },
    // Streamed from disk: a large file drop is never read whole into memory.
    body: Readable.toWeb(createReadStream(values.file!)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
} catch (error) {
  fail(`cannot reach ${base}: ${(error as Error).message}`);
}
const accepted = (await response!.json()) as {
  feedId?: string;
  received?: number;
  error?: { code: string; message: string; line?: number; column?: unknown };
};
if (response!.status !== 202 || !accepted.feedId) {
  const e = accepted.error;
  fail(
    `refused (${response!.status} ${e?.code ?? ''}): ` +
      `${e?.message ?? 'no detail'}` +
      `${e?.line ? ` at line ${e.line}${e.column ? `, column ${String(e.column)}` : ''}` : ''}`,
  );
}
process.stdout.write(`feed ${accepted.feedId} queued: ${accepted.received} records\n`);

const tty = process.stdout.isTTY === true;
let report: Report | undefined;
let lastShown = -1;
for (;;) {
  const r = await fetch(`${base}/ingest/v1/feeds/${accepted.feedId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (r.status === 503 || r.status === 429) {
    // The report cannot be read just now (the store is slow, or too many requests): ask again.
    await r.body?.cancel();
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(Number(r.headers.get('retry-after')) || 1, 30) * 1_000),
    );
    continue;
  }
  report = (await r.json()) as Report;
  const c = report.counts;
  const done = c.created + c.updated + c.unchanged + c.stale + c.rejected;
  const share = c.received > 0 ? done / c.received : 1;
  const percent = Math.floor(share * 100);
  if (tty)
    process.stdout.write(
      `\r[${'#'.repeat(Math.round(share * 30)).padEnd(30)}] ${String(percent).padStart(3)}% ${done}/${c.received}`,
    );
  else if (percent >= lastShown + 25 || percent === 100)
    process.stdout.write(`progress ${percent}% (${done}/${c.received})\n`);
  lastShown = Math.max(lastShown, percent);
  if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
if (tty) process.stdout.write('\n');
const c = report.counts;
process.stdout.write(
  `${report.status}: received ${c.received}, created ${c.created}, updated ${c.updated}, unchanged ` +
    `${c.unchanged}, stale ${c.stale}, rejected ${c.rejected}\n`,
);
for (const r of report.rejected) {
  process.stdout.write(
    `  rejected #${r.position}${r.line ? ` (line ${r.line})` : ''} ${r.caseReference ?? '(no reference)'}: ` +
      `${r.path}: ${r.message}\n`,
  );
}
for (const e of report.errors) process.stdout.write(`  failed: ${e}\n`);
process.exit(report.status === 'FAILED' ? 3 : c.rejected > 0 ? 1 : 0);
