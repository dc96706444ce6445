/**
 * What `npm run bench:gateway` sends and how it reads a CPU profile: the identical-query
 * workload's queries, the seeded generator of all-distinct queries, the comparison of the
 * gateways' answers, and the summary of a `.cpuprofile` (where a request's time goes).
 * Pure functions, so they are unit-tested apart from the bench.
 */
import { CASE_STATUSES } from '../shared/domain.js';
import { createRandom } from '../scripts/demo/generate.js';

/** One GraphQL request body. */
export interface BenchRequest {
  query: string;
  variables?: Record<string, unknown>;
}

/** Every client sends the same query: the shapes a room of dashboards asks at once. */
export const IDENTICAL_QUERIES = {
  'page of 50 cases': {
    query:
      `{ cases(first: 50) { edges { node { id caseReference countryOfOrigin { name } partner { name } ` +
      `entitlement { totalCents } } } } }`,
  },
  'reference data': {
    query:
      `{ partners { id name shortName capacity } countriesOfOrigin { code name coverage ` +
      `{ partner { id name } packages validFrom } } memberStates { code name } }`,
  },
  statistics: {
    query:
      `{ statistics { totalCases totalReturnees adults minors casesByMemberState { key count } ` +
      `casesPerMonth { key count } casesByCountryOfOrigin { key count } casesByPartner { key count } } }`,
  },
} as const satisfies Record<string, BenchRequest>;

export type IdenticalWorkload = keyof typeof IDENTICAL_QUERIES;

/** The page every distinct request asks for: its filter and size vary. */
export const DISTINCT_PAGE =
  `query($f: CaseFilter, $first: Int) { cases(filter: $f, first: $first) { edges { node { id caseReference ` +
  `countryOfOrigin { name } partner { name } entitlement { totalCents } } } } }`;

const MEMBER_STATES = ['DE', 'NL', 'BE', 'FR', 'SE', 'AT'] as const;
/** Page sizes 1..MAX_PAGE: with the filters, how many distinct requests the generator can give. */
const MAX_PAGE = 100;
const FILTERS: Array<Record<string, unknown>> = [
  {},
  ...MEMBER_STATES.map((m) => ({ memberStates: [m] })),
  ...CASE_STATUSES.map((s) => ({ statuses: [s] })),
  ...MEMBER_STATES.flatMap((m) => CASE_STATUSES.map((s) => ({ memberStates: [m], statuses: [s] }))),
];
/** How many requests the generator gives before it would repeat one. */
export const DISTINCT_CAPACITY = FILTERS.length * MAX_PAGE;

/** The demo data's seeded generator (mulberry32): the same sequence for the same seed on every machine. */
export const seededRandom = createRandom;

/**
 * A seeded sequence of page requests, no two alike (a filter and a page size each): a
 * shuffle of every (filter, size) pair, so the same seed gives the same order. Throws when
 * asked for more than DISTINCT_CAPACITY, rather than repeat one.
 */
export function distinctRequests(seed: number): () => BenchRequest {
  if (!Number.isInteger(seed)) throw new Error(`distinctRequests: the seed must be a whole number (got ${seed})`);
  const random = seededRandom(seed);
  const order = Array.from({ length: DISTINCT_CAPACITY }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let next = 0;
  return () => {
    if (next >= order.length)
      throw new Error(`distinctRequests: all ${DISTINCT_CAPACITY} distinct requests are used; fewer requests`);
    const n = order[next++]!;
    return { query: DISTINCT_PAGE, variables: { f: FILTERS[Math.floor(n / MAX_PAGE)], first: 1 + (n % MAX_PAGE) } };
  };
}

/** An answer reduced to what must be equal between gateways: its data, and its error messages sorted. */
export function comparableAnswer(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`the answer is not JSON: ${body.slice(0, 200)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`the answer is not a GraphQL response object: ${body.slice(0, 200)}`);
  const { data, errors } = parsed as { data?: unknown; errors?: Array<{ message?: unknown }> };
  const messages = Array.isArray(errors) ? errors.map((e) => String(e?.message)).sort() : [];
  return JSON.stringify({ data: data ?? null, errors: messages });
}

/** A V8 `.cpuprofile` (what `node --cpu-prof` writes). */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time in ms, idle excluded. */
  busyMs: number;
  idleMs: number;
  /** The functions with the most self time: `name (where:line)`, ms, share of busy time. */
  functions: Array<{ name: string; ms: number; share: number }>;
  /** Self time by where the code lives: a package, node's internals, the project, GC. */
  areas: Array<{ name: string; ms: number; share: number }>;
}

/** Where a function's code lives, for the summary by area. */
export function areaOf(url: string, functionName: string, root = ''): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (url === '') return 'native';
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith('wasm:')) return 'wasm (e.g. undici HTTP parser)';
  const packagePath = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packagePath) return packagePath[1]!;
  const path = url.replace(/^file:\/\//, '');
  const local = root && path.startsWith(root) ? path.slice(root.length).replace(/^\//, '') : path;
  return `project: ${local.split('/').slice(0, 2).join('/')}`;
}

/**
 * Self time per function and per area of a profile, largest first (`top` of each), counting
 * only samples taken later than `fromUs` microseconds after the profile started (startup and warm-up left out).
 */
export function summariseProfile(profile: CpuProfile, top = 15, root = '', fromUs = 0): ProfileSummary {
  if (!Array.isArray(profile?.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas))
    throw new Error('not a V8 CPU profile: nodes, samples and timeDeltas are needed');
  if (profile.samples.length !== profile.timeDeltas.length)
    throw new Error('not a V8 CPU profile: samples and timeDeltas differ in length');
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = Math.max(0, Number(profile.timeDeltas[i]) || 0);
    at += delta;
    if (at > fromUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    // A package's file by its path in the package; the project's by its path in the project.
    const path = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '');
    const where = url ? `${root && path.startsWith(root) ? path.slice(root.length) : path}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ` (${where})` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const area = areaOf(url, functionName, root);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { busyMs: busy / 1000, idleMs: idle / 1000, functions: ranked(functions), areas: ranked(areas) };
}
