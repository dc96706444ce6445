import { badUserInput } from '../../../shared/errors.js';
import type { CaseEventFacts as StatsFacts } from '../../../shared/case-events/index.js';
import { suppressTable, type KnownToReader, type Shown } from './suppression.js';

/**
 * Cross tabulation (two dimensions at once) from the statistics read model. Each statistics
 * document (one per scope: `all`, `memberState:BE`, `country:IQ`, `partner:weldo`) also keeps
 * pair counters, for every unordered pair of dimensions, under `x.c.<pair>.<a>.<b>` (cases) and
 * `x.r.<pair>.<a>.<b>` (returnees): the pairs are finite (Member States × countries × months ...),
 * so a cross-tab is one read of one document by `_id`, projected to one pair, never a case scan.
 */

/** The dimensions a cross-tab takes, in the order pairs are stored (the first is the outer key). */
export const DIMENSIONS = [
  'MEMBER_STATE',
  'COUNTRY_OF_ORIGIN',
  'PARTNER',
  'MONTH',
  'RETURN_TYPE',
  'PACKAGE',
  'STATUS',
] as const;
export type StatisticsDimension = (typeof DIMENSIONS)[number];
export type CrossTabMeasure = 'CASES' | 'RETURNEES';

const SHORT: Record<StatisticsDimension, string> = {
  MEMBER_STATE: 'ms',
  COUNTRY_OF_ORIGIN: 'co',
  PARTNER: 'pa',
  MONTH: 'mo',
  RETURN_TYPE: 'rt',
  PACKAGE: 'pk',
  STATUS: 'st',
};

/** Most cells one cross-tab returns (rows × columns); a larger table is refused: narrow it with a filter. */
export const MAX_CROSS_TAB_CELLS = 10_000;

/** A key as a path segment: codes are letters, digits, `-` and `_`; anything else is replaced. */
export function keySegment(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return safe === '' ? '_' : safe;
}

/** A case's values on each dimension (PACKAGE may have several, or none). */
export function dimensionValues(facts: StatsFacts): Record<StatisticsDimension, string[]> {
  return {
    MEMBER_STATE: [facts.memberState],
    COUNTRY_OF_ORIGIN: [facts.countryOfOrigin],
    PARTNER: [facts.partnerId ?? 'UNASSIGNED'],
    MONTH: [facts.month],
    RETURN_TYPE: [facts.returnType],
    PACKAGE: [...new Set(facts.packages)],
    STATUS: [facts.status],
  };
}

/** The stored pair (first, second in DIMENSIONS order) and whether the request is its transpose. */
export function pairOf(rows: StatisticsDimension, columns: StatisticsDimension): { pair: string; transposed: boolean } {
  const r = DIMENSIONS.indexOf(rows);
  const c = DIMENSIONS.indexOf(columns);
  if (r < 0 || c < 0) throw badUserInput(`unknown dimension ${r < 0 ? rows : columns}`, r < 0 ? 'rows' : 'columns');
  if (r === c)
    throw badUserInput(
      `rows and columns are both ${rows}: a cross-tab takes two different dimensions (statistics has one)`,
      'columns',
    );
  return r < c
    ? { pair: `${SHORT[rows]}_${SHORT[columns]}`, transposed: false }
    : { pair: `${SHORT[columns]}_${SHORT[rows]}`, transposed: true };
}

/** The pair counters a case adds to each of its statistics documents (paths for `$inc`). */
export function crossTabContribution(facts: StatsFacts): Record<string, number> {
  const values = dimensionValues(facts);
  const c: Record<string, number> = {};
  for (let i = 0; i < DIMENSIONS.length; i++) {
    for (let j = i + 1; j < DIMENSIONS.length; j++) {
      const pair = `${SHORT[DIMENSIONS[i]!]}_${SHORT[DIMENSIONS[j]!]}`;
      for (const a of values[DIMENSIONS[i]!])
        for (const b of values[DIMENSIONS[j]!]) {
          const at = `${pair}.${keySegment(a)}.${keySegment(b)}`;
          c[`x.c.${at}`] = (c[`x.c.${at}`] ?? 0) + 1;
          c[`x.r.${at}`] = (c[`x.r.${at}`] ?? 0) + facts.returnees;
        }
    }
  }
  return c;
}

/** The projection that reads one pair of one measure from a statistics document. */
export function crossTabProjection(pair: string, measure: CrossTabMeasure): Record<string, 1> {
  return { [`x.${measure === 'CASES' ? 'c' : 'r'}.${pair}`]: 1, updatedAt: 1 };
}

type Nested = Record<string, Record<string, unknown>>;

/** An exact table: sorted row and column keys (every key with a count) and the counts, zeros included. */
export interface CountTable {
  rowKeys: string[];
  columnKeys: string[];
  cells: number[][];
}

/**
 * Assembles the rows × columns table from a statistics document (as read with crossTabProjection).
 * Keys are sorted (months oldest first; codes alphabetically); only keys with a count appear.
 */
export function assembleCrossTab(
  doc: Record<string, unknown> | null,
  rows: StatisticsDimension,
  columns: StatisticsDimension,
  measure: CrossTabMeasure,
): CountTable {
  const { pair, transposed } = pairOf(rows, columns);
  const stored = ((((doc ?? {}) as Nested).x?.[measure === 'CASES' ? 'c' : 'r'] ?? {}) as Nested)[pair] ?? {};
  const counts = new Map<string, Map<string, number>>();
  for (const [outer, inner] of Object.entries(stored as Nested)) {
    for (const [innerKey, value] of Object.entries(inner ?? {})) {
      if (typeof value !== 'number' || value <= 0) continue;
      const [r, c] = transposed ? [innerKey, outer] : [outer, innerKey];
      const row = counts.get(r) ?? new Map<string, number>();
      row.set(c, value);
      counts.set(r, row);
    }
  }
  const rowKeys = [...counts.keys()].sort();
  const columnKeys = [...new Set([...counts.values()].flatMap((row) => [...row.keys()]))].sort();
  if (rowKeys.length * columnKeys.length > MAX_CROSS_TAB_CELLS)
    throw badUserInput(
      `${rows} × ${columns} has ${rowKeys.length} × ${columnKeys.length} cells, more than ${MAX_CROSS_TAB_CELLS}: ` +
        'narrow it with a filter',
      'rows',
    );
  return {
    rowKeys,
    columnKeys,
    cells: rowKeys.map((r) => columnKeys.map((c) => counts.get(r)?.get(c) ?? 0)),
  };
}

export interface ShownCell {
  column: string;
  count: Shown;
  suppressed: boolean;
}

/** A cross-tab as the graph serves it. */
export interface CrossTabulation {
  scope: string;
  rowDimension: StatisticsDimension;
  columnDimension: StatisticsDimension;
  measure: CrossTabMeasure;
  /** Whether small cells were withheld (the caller does not own the cases counted). */
  suppressionApplied: boolean;
  threshold: number | null;
  withheld: number;
  columnKeys: string[];
  rows: Array<{ key: string; cells: ShownCell[]; total: Shown; totalSuppressed: boolean }>;
  columnTotals: ShownCell[];
  total: Shown;
  totalSuppressed: boolean;
  updatedAt: Date | null;
}

/** The figures a reader of a suppressed table knows already: its own Member State's or partner's. */
export interface ReaderKnows {
  memberState?: string | null;
  partner?: string | null;
}

/** The rows and columns of a table the reader knows exactly (its own Member State's or partner's line). */
export function knownLines(
  base: { rowDimension: StatisticsDimension; columnDimension: StatisticsDimension },
  table: Pick<CountTable, 'rowKeys' | 'columnKeys'>,
  known: ReaderKnows = {},
): KnownToReader {
  const own = (dimension: StatisticsDimension) =>
    dimension === 'MEMBER_STATE' ? known.memberState : dimension === 'PARTNER' ? known.partner : null;
  const at = (keys: string[], key: string | null | undefined) =>
    new Set(key ? keys.flatMap((k, i) => (k === keySegment(key) ? [i] : [])) : []);
  return { rows: at(table.rowKeys, own(base.rowDimension)), columns: at(table.columnKeys, own(base.columnDimension)) };
}

/**
 * Shapes a table for its reader: exact for the owners of the cases counted, else through
 * suppressTable (cells, row and column totals and the grand total together, so no total shown
 * gives a withheld cell back).
 */
export function presentCrossTab(
  base: {
    scope: string;
    rowDimension: StatisticsDimension;
    columnDimension: StatisticsDimension;
    measure: CrossTabMeasure;
  },
  table: CountTable,
  suppress: { threshold: number; known?: ReaderKnows } | null,
  updatedAt: Date | null = null,
): CrossTabulation {
  const exactRowTotals = table.cells.map((row) => row.reduce((a, b) => a + b, 0));
  const exactColumnTotals = table.columnKeys.map((_, c) => table.cells.reduce((a, row) => a + row[c]!, 0));
  const shown = suppress
    ? suppressTable(table.cells, suppress.threshold, knownLines(base, table, suppress.known))
    : {
        cells: table.cells as Shown[][],
        rowTotals: exactRowTotals as Shown[],
        columnTotals: exactColumnTotals as Shown[],
        total: exactRowTotals.reduce((a, b) => a + b, 0) as Shown,
        withheld: 0,
      };
  return {
    ...base,
    suppressionApplied: suppress !== null,
    threshold: suppress?.threshold ?? null,
    withheld: shown.withheld,
    columnKeys: table.columnKeys,
    rows: table.rowKeys.map((key, r) => ({
      key,
      cells: table.columnKeys.map((column, c) => {
        const count = shown.cells[r]![c]!;
        return { column, count, suppressed: count === null };
      }),
      total: shown.rowTotals[r]!,
      totalSuppressed: shown.rowTotals[r] === null,
    })),
    columnTotals: table.columnKeys.map((column, c) => {
      const count = shown.columnTotals[c]!;
      return { column, count, suppressed: count === null };
    }),
    total: shown.total,
    totalSuppressed: shown.total === null,
    updatedAt,
  };
}
