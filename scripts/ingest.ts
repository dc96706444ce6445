/**
 * npm run ingest -- --member-state BE --file feed.csv [--profile NAME] [--url http://localhost:4000] [--token JWT]
 * Pushes a file drop through the push API, shows progress, prints the report.
 * Exit 0: every record stored; 1: some records rejected; 3: the feed failed; 2: usage or transport error.
 *
 * npm run ingest -- --preview [--profile NAME | --profile-file PROFILE.json] [--member-state BE] FILE
 * Shows what a push of the file's first records would do (POST /ingest/v1/preview), storing nothing.
 * Exit 0: every record read maps to a valid record; 1: not; 2: usage, transport error or refusal.
 */
import { createReadStream, openSync, readFileSync, readSync, statSync, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { MEMBER_STATE_CODE_FORM, mintToken } from '../shared/auth.js';
import { loadConfigOrExit } from '../shared/config.js';
import { previewTable, type PreviewAnswer } from './preview-table.js';

const USAGE =
  'usage: npm run ingest -- --member-state XX --file PATH [--profile NAME] [--url URL] [--token JWT] ' +
  '[--idempotency-key KEY]\n' +
  '       npm run ingest -- --preview [--profile NAME | --profile-file PATH] [--member-state XX] [--url URL] ' +
  '[--token JWT] [--json] PATH';
const fail = (message: string, code = 2): never => {
  process.stderr.write(`${message}\n${code === 2 ? `${USAGE}\n` : ''}`);
  process.exit(code);
};

let values: Record<string, string | boolean | undefined> = {};
let positionals: string[] = [];
try {
  ({ values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'member-state': { type: 'string' },
      file: { type: 'string' },
      profile: { type: 'string' },
      'profile-file': { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'idempotency-key': { type: 'string' },
      preview: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
const option = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
const previewing = values.preview === true;
const file = option('file') ?? positionals[0];
if (positionals.length > (option('file') ? 0 : 1)) fail(`unexpected argument ${JSON.stringify(positionals.at(-1))}`);
if (!previewing && (option('profile-file') || values.json)) fail('--profile-file and --json go with --preview');
if (option('profile') && option('profile-file')) fail('--profile names an installed profile, --profile-file sends one');
// A preview may leave the Member State to the profile, which names it.
let memberState = option('member-state') ?? (previewing ? undefined : '');
// The form only: the server checks participation against the lists in force (a Member State may
// have been added since this release).
if (memberState !== undefined && !MEMBER_STATE_CODE_FORM.test(memberState))
  fail(
    `--member-state must be a participating Member State (ISO alpha-2, capitals), got ${JSON.stringify(memberState)}`,
  );
if (!file) fail('--file is required');
const config = loadConfigOrExit();
const base = (option('url') ?? `http://127.0.0.1:${config.GATEWAY_PORT}`).replace(/\/$/, '');
const profiled = option('profile') !== undefined || option('profile-file') !== undefined;
const contentType = profiled
  ? 'text/csv'
  : (
      {
        '.csv': 'text/csv',
        '.ndjson': 'application/x-ndjson',
        '.jsonl': 'application/x-ndjson',
        '.json': 'application/json',
      } as Record<string, string>
    )[extname(file!).toLowerCase()];
if (!contentType) fail(`cannot tell the format of ${file}: use .csv, .json, .ndjson or --profile`);
let size = 0;
try {
  const stat = statSync(file!);
  if (!stat.isFile()) throw new Error('not a file');
  size = stat.size;
} catch (error) {
  fail(`cannot read ${file}: ${(error as Error).message}`);
}
const tokenFor = (ms: string) =>
  option('token') ??
  mintToken({ subject: `file-drop-${ms.toLowerCase()}`, role: 'MEMBER_STATE', memberState: ms }, config, 3600);
const refusal = (status: number, e: { code?: string; message?: string; line?: number; column?: unknown } | undefined) =>
  `refused (${status} ${e?.code ?? ''}): ` +
  `${e?.message ?? 'no detail'}` +
  `${e?.line ? ` at line ${e.line}${e.column ? `, column ${String(e.column)}` : ''}` : ''}`;

/** A profile sent with --profile-file, once read. */
let profileSent: unknown;
if (previewing) await preview();
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

const query = option('profile') ? `?profile=${encodeURIComponent(option('profile')!)}` : '';
// Locally, a token for the Member State is minted with the development secret.
const token = await tokenFor(memberState!);
let response: Response;
try {
  response = await fetch(`${base}/ingest/v1/feeds${query}`, {
    method: 'POST',
    headers: {
      'content-type': contentType!,
      'content-length': String(size),
      authorization: `Bearer ${token}`,
      ...(option('idempotency-key') ? { 'idempotency-key': option('idempotency-key')! } : {}),
    },
    // Streamed from disk: a large file drop is never read whole into memory.
    body: Readable.toWeb(createReadStream(file!)) as ReadableStream<Uint8Array>,
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
if (response!.status !== 202 || !accepted.feedId) fail(refusal(response!.status, accepted.error));
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

/**
 * The start of the file, as much of it as a preview reads (MAX_BODY_BYTES): cut after its last whole
 * line, so that the records sent are whole ones (the preview reads the first of them).
 */
function startOfFile(limit: number): { bytes: Buffer; cut: boolean } {
  const descriptor = openSync(file!, 'r');
  try {
    const bytes = Buffer.alloc(Math.min(size, limit));
    const read = readSync(descriptor, bytes, 0, bytes.length, 0);
    if (size <= limit) return { bytes: bytes.subarray(0, read), cut: false };
    const lastLine = bytes.lastIndexOf(0x0a, read - 1);
    return { bytes: bytes.subarray(0, lastLine > 0 ? lastLine + 1 : read), cut: true };
  } finally {
    closeSync(descriptor);
  }
}

/** The Member State a profile names: from its file, or from the gateway's list of installed profiles. */
async function profileMemberState(): Promise<string | undefined> {
  const sent = option('profile-file');
  if (sent) return (profileSent as { memberState?: string } | undefined)?.memberState;
  const name = option('profile');
  if (!name) return undefined;
  try {
    // The list answers what the caller may read: the given token's, else (locally) the support desk's.
    const listing = option('token') ?? (await mintToken({ subject: 'file-drop', role: 'SUPPORT_DESK' }, config, 300));
    const answer = await fetch(`${base}/ingest/v1/profiles`, { headers: { authorization: `Bearer ${listing}` } });
    if (!answer.ok) return fail(`cannot list the profiles at ${base}: HTTP ${answer.status}`);
    const listed = (await answer.json()) as Array<{
      name: string;
      memberState?: string;
    }>;
    return listed.find((p) => p.name === name)?.memberState;
  } catch (error) {
    return fail(`cannot reach ${base}: ${(error as Error).message}`);
  }
}

/** --preview: POST /ingest/v1/preview with the start of the file; prints a table, exits 0 (clean) or 1. */
async function preview(): Promise<never> {
  const profileFile = option('profile-file');
  let profileText: string | undefined;
  if (profileFile) {
    try {
      profileText = readFileSync(profileFile, 'utf8');
      profileSent = JSON.parse(profileText);
    } catch (error) {
      fail(`cannot read the profile ${profileFile}: ${(error as Error).message}`);
    }
  }
  memberState ??= await profileMemberState();
  if (!memberState) fail('--member-state is required (the profile does not name its Member State)');
  if (!MEMBER_STATE_CODE_FORM.test(memberState!))
    fail(
      `the profile's Member State ${JSON.stringify(memberState)} is not a Member State code (ISO alpha-2, capitals)`,
    );
  const { bytes, cut } = startOfFile(config.MAX_BODY_BYTES);
  const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(memberState!)}` };
  let body: FormData | Buffer;
  if (profileText !== undefined) {
    // Multipart: the profile to try, and the file's bytes exactly as they are (its encoding is the profile's).
    const form = new FormData();
    form.append('profile', new Blob([profileText], { type: 'application/json' }), basename(profileFile!));
    form.append('file', new Blob([bytes], { type: contentType! }), basename(file!));
    body = form;
  } else {
    headers['content-type'] = contentType!;
    body = bytes;
  }
  const query = option('profile') ? `?profile=${encodeURIComponent(option('profile')!)}` : '';
  let response: Response;
  try {
    response = await fetch(`${base}/ingest/v1/preview${query}`, { method: 'POST', headers, body });
  } catch (error) {
    return fail(`cannot reach ${base}: ${(error as Error).message}`);
  }
  const answer = (await response.json().catch(() => ({}))) as PreviewAnswer & {
    error?: { code?: string; message?: string; line?: number; column?: unknown };
  };
  if (response.status !== 200) return fail(refusal(response.status, answer.error));
  if (cut) process.stdout.write(`(only the first ${bytes.length} bytes of ${basename(file!)} were sent)\n`);
  process.stdout.write(values.json ? `${JSON.stringify(answer, null, 2)}\n` : previewTable(answer));
  process.exit(answer.ok ? 0 : 1);
}
