/**
 * Small-cell suppression for every aggregate shown to someone who does not own the cases in
 * it (docs/domain.md, "Monitoring and evaluation"): a count of fewer than `threshold` people or
 * cases (but more than none) could single out a returnee, so it is withheld (null).
 *
 * Withholding a cell is not enough when totals are shown: a row total minus the row's visible
 * cells gives the one withheld cell back. So, in every line (row or column) whose total is
 * shown, a lone withheld cell takes a second one with it (complementary suppression): the
 * smallest other non-zero cell of that line, else the smallest zero. This repeats until every
 * line with a shown total has no withheld cell or at least two, across rows, columns and the
 * margins (the row totals against the grand total, and the column totals).
 *
 * The threshold is configurable (SUPPRESSION_THRESHOLD, default 5); 0 or 1 turns it off.
 */

export const DEFAULT_SUPPRESSION_THRESHOLD = 5;

/** A shown count, or null when withheld. */
export type Shown = number | null;

export interface SuppressedTable {
  cells: Shown[][];
  rowTotals: Shown[];
  columnTotals: Shown[];
  total: Shown;
  /** How many values (cells and totals) were withheld. */
  withheld: number;
}

export interface SuppressedCounts {
  counts: Shown[];
  total: Shown;
  withheld: number;
}

/** Whether one count on its own is too small to show. */
export function isSmall(count: number, threshold: number = DEFAULT_SUPPRESSION_THRESHOLD): boolean {
  return count > 0 && count < threshold;
}

function checkCount(value: number, where: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${where} must be a count, got ${value}`);
}

/**
 * What the reader knows already, whatever is shown (optional; none by default): a Member State
 * reading a programme-wide table by Member State knows its own row exactly (cells and total).
 * A withheld value the reader knows protects nothing, so lines must hold zero or at least two
 * withheld values the reader does not know.
 */
export interface KnownToReader {
  /** Rows whose cells and total the reader knows. */
  rows?: ReadonlySet<number>;
  /** Columns whose cells and total the reader knows. */
  columns?: ReadonlySet<number>;
}

/**
 * Makes every line (a set of positions whose sum is shown) hold zero or at least two withheld
 * positions the reader does not know, withholding the smallest other unknown position where one
 * stands alone. `hidden` is changed in place; returns whether anything changed.
 */
function protectLines(
  values: readonly number[],
  hidden: boolean[],
  lines: ReadonlyArray<readonly number[]>,
  known?: readonly boolean[],
): boolean {
  let changed = false;
  for (const line of lines) {
    const withheld = line.filter((i) => hidden[i] && !known?.[i]);
    if (withheld.length !== 1) continue;
    // A position the reader knows already cannot protect anything.
    const candidates = line.filter((i) => !hidden[i] && !known?.[i]);
    if (candidates.length === 0) continue;
    // The smallest non-zero cell hides the least; a zero only when nothing else is left.
    const rank = (i: number) => (values[i]! === 0 ? Number.MAX_SAFE_INTEGER : values[i]!);
    const pick = candidates.reduce((best, i) => (rank(i) < rank(best) ? i : best));
    hidden[pick] = true;
    changed = true;
  }
  return changed;
}

/**
 * A two-way table of counts (rows × columns) with its row, column and grand totals, suppressed
 * so that no withheld count can be worked out from what is shown.
 */
export function suppressTable(
  cells: ReadonlyArray<readonly number[]>,
  threshold: number = DEFAULT_SUPPRESSION_THRESHOLD,
  knownToReader: KnownToReader = {},
): SuppressedTable {
  const rows = cells.length;
  const columns = rows === 0 ? 0 : cells[0]!.length;
  cells.forEach((row, r) => {
    if (row.length !== columns) throw new RangeError(`row ${r} has ${row.length} cells, expected ${columns}`);
    row.forEach((value, c) => checkCount(value, `cell [${r}][${c}]`));
  });
  const rowTotals = cells.map((row) => row.reduce((a, b) => a + b, 0));
  const columnTotals = Array.from({ length: columns }, (_, c) => cells.reduce((a, row) => a + row[c]!, 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);

  // One flat vector: cells, then row totals, then column totals, then the grand total.
  const cellAt = (r: number, c: number) => r * columns + c;
  const rowTotalAt = (r: number) => rows * columns + r;
  const columnTotalAt = (c: number) => rows * columns + rows + c;
  const totalAt = rows * columns + rows + columns;
  const values = [...cells.flat(), ...rowTotals, ...columnTotals, total];
  const hidden = values.map((v) => isSmall(v, threshold));
  const known = knownPositions(rows, columns, knownToReader);

  // Each line is the positions whose sum is another shown value: a row with its total is the
  // row's cells plus the total (cells + total, where the total is itself a position: if the
  // total is withheld, it counts as one of the withheld positions of that line).
  const lines: number[][] = [];
  for (let r = 0; r < rows; r++)
    lines.push([...Array.from({ length: columns }, (_, c) => cellAt(r, c)), rowTotalAt(r)]);
  for (let c = 0; c < columns; c++)
    lines.push([...Array.from({ length: rows }, (_, r) => cellAt(r, c)), columnTotalAt(c)]);
  lines.push([...Array.from({ length: rows }, (_, r) => rowTotalAt(r)), totalAt]);
  lines.push([...Array.from({ length: columns }, (_, c) => columnTotalAt(c)), totalAt]);
  // Bounded: every pass withholds at least one more position, and there are values.length.
  for (let pass = 0; pass <= values.length && protectLines(values, hidden, lines, known); pass++);

  const shown = (i: number): Shown => (hidden[i] ? null : values[i]!);
  return {
    cells: Array.from({ length: rows }, (_, r) => Array.from({ length: columns }, (_, c) => shown(cellAt(r, c)))),
    rowTotals: Array.from({ length: rows }, (_, r) => shown(rowTotalAt(r))),
    columnTotals: Array.from({ length: columns }, (_, c) => shown(columnTotalAt(c))),
    total: shown(totalAt),
    withheld: hidden.filter(Boolean).length,
  };
}

/**
 * Positions (in suppressTable's flat order) the reader knows: the known rows and columns with
 * their totals, and any total whose parts are all known.
 */
function knownPositions(rows: number, columns: number, known: KnownToReader): boolean[] {
  const flags = new Array<boolean>(rows * columns + rows + columns + 1).fill(false);
  const rowTotalAt = (r: number) => rows * columns + r;
  const columnTotalAt = (c: number) => rows * columns + rows + c;
  for (const r of known.rows ?? []) {
    if (!Number.isInteger(r) || r < 0 || r >= rows) continue;
    for (let c = 0; c < columns; c++) flags[r * columns + c] = true;
    flags[rowTotalAt(r)] = true;
  }
  for (const c of known.columns ?? []) {
    if (!Number.isInteger(c) || c < 0 || c >= columns) continue;
    for (let r = 0; r < rows; r++) flags[r * columns + c] = true;
    flags[columnTotalAt(c)] = true;
  }
  const all = (n: number, at: (i: number) => number) =>
    Array.from({ length: n }, (_, i) => at(i)).every((i) => flags[i]);
  for (let r = 0; r < rows; r++) if (all(columns, (c) => r * columns + c)) flags[rowTotalAt(r)] = true;
  for (let c = 0; c < columns; c++) if (all(rows, (r) => r * columns + c)) flags[columnTotalAt(c)] = true;
  if ((rows > 0 && all(rows, rowTotalAt)) || (columns > 0 && all(columns, columnTotalAt)))
    flags[flags.length - 1] = true;
  return flags;
}

/**
 * The general form of `suppressTable`: `values` with `lines`, each a set of positions whose sum is
 * shown (or can be worked out). Small values are withheld, then every line holding a lone withheld
 * position takes a second one with it, until none does. Returns which positions are withheld.
 * Positions in `known` count as shown whatever their size (a reader's own exact figures).
 */
export function suppressLines(
  values: readonly number[],
  lines: ReadonlyArray<readonly number[]>,
  threshold: number = DEFAULT_SUPPRESSION_THRESHOLD,
  /** Positions the reader knows exactly (its own figures): never withheld, never taken as a second. */
  known?: readonly boolean[],
): boolean[] {
  values.forEach((value, i) => checkCount(value, `value [${i}]`));
  const hidden = values.map((v, i) => !known?.[i] && isSmall(v, threshold));
  for (let pass = 0; pass <= values.length && protectLines(values, hidden, lines, known); pass++);
  return hidden;
}

/** A one-way list of counts with its total (a breakdown by one dimension); `known`: entries the reader knows. */
export function suppressCounts(
  counts: readonly number[],
  threshold: number = DEFAULT_SUPPRESSION_THRESHOLD,
  known: ReadonlySet<number> = new Set(),
): SuppressedCounts {
  const table = suppressTable(
    counts.map((n) => [n]),
    threshold,
    { rows: known },
  );
  // A single column: its cells are the counts; the column total is the list's total.
  return {
    counts: table.cells.map((row) => row[0]!),
    total: counts.length === 0 ? 0 : table.columnTotals[0]!,
    withheld: table.cells.filter((row) => row[0] === null).length + (table.columnTotals[0] === null ? 1 : 0),
  };
}

/**
 * A rate over `denominator` cases (a completion rate, a share): withheld when the denominator is
 * small, or when the numerator or the rest is small but not zero (either would single someone out).
 */
export function suppressRate(
  numerator: number,
  denominator: number,
  threshold: number = DEFAULT_SUPPRESSION_THRESHOLD,
): number | null {
  checkCount(numerator, 'numerator');
  checkCount(denominator, 'denominator');
  if (numerator > denominator) throw new RangeError(`numerator ${numerator} exceeds denominator ${denominator}`);
  if (denominator === 0) return null;
  if (denominator < threshold || isSmall(numerator, threshold) || isSmall(denominator - numerator, threshold)) {
    return null;
  }
  return numerator / denominator;
}

/**
 * Whether what is shown gives any withheld value back exactly by subtraction: some line whose
 * sum is known holds exactly one withheld value. Used by the tests as the property to hold.
 */
export function revealsWithheld(table: SuppressedTable, knownToReader: KnownToReader = {}): boolean {
  const rows = table.cells.length;
  const columns = table.columnTotals.length;
  // What the reader knows counts as shown (its value is not needed to tell a lone unknown).
  const known = knownPositions(rows, columns, knownToReader);
  const flat = [...table.cells.flat(), ...table.rowTotals, ...table.columnTotals, table.total];
  const seen = flat.map((v, i) => v !== null || known[i]!);
  const lone = (line: number[]) => line.filter((i) => !seen[i]).length === 1;
  const rowTotalAt = (r: number) => rows * columns + r;
  const columnTotalAt = (c: number) => rows * columns + rows + c;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  for (const r of range(rows)) if (lone([...range(columns).map((c) => r * columns + c), rowTotalAt(r)])) return true;
  for (const c of range(columns)) if (lone([...range(rows).map((r) => r * columns + c), columnTotalAt(c)])) return true;
  if (rows > 0 && lone([...range(rows).map(rowTotalAt), flat.length - 1])) return true;
  if (columns > 0 && lone([...range(columns).map(columnTotalAt), flat.length - 1])) return true;
  return false;
}
