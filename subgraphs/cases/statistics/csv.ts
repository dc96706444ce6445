import type { CrossTabulation } from './crosstab.js';

/**
 * Statistics and cross-tabs as CSV text (RFC 4180: comma-separated, CRLF line ends, a field
 * quoted when it holds a comma, a quote, CR or LF, quotes doubled). Text cells that a
 * spreadsheet would run as a formula (starting with = + - @, a tab or a CR) are prefixed
 * with `'`; numbers are written as numbers. A withheld (suppressed) value is an empty field,
 * and the table ends with a note row saying so.
 */
export type CsvValue = string | number | null;

/** The most bytes one CSV answer may take (the tables are bounded: see MAX_CROSS_TAB_CELLS). */
export const MAX_CSV_BYTES = 2 * 1024 * 1024;

export function csvField(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: ReadonlyArray<ReadonlyArray<CsvValue>>): string {
  const text = rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
  if (Buffer.byteLength(text) > MAX_CSV_BYTES)
    throw new RangeError(`the CSV would take more than ${MAX_CSV_BYTES} bytes: narrow the table with a filter`);
  return text;
}

export const suppressionNote = (threshold: number | null) =>
  `Empty values are withheld: counts under ${threshold ?? '?'} and the values that would give them back ` +
  '(small-cell suppression)';

/** A cross-tab: a header row (rows\columns, each column key, Total), one row per row key, the column totals. */
export function crossTabCsv(t: CrossTabulation): string {
  const rows: CsvValue[][] = [
    [`${t.rowDimension}\\${t.columnDimension}`, ...t.columnKeys, 'Total'],
    ...t.rows.map((row) => [row.key, ...row.cells.map((cell) => cell.count), row.total]),
    ['Total', ...t.columnTotals.map((cell) => cell.count), t.total],
  ];
  if (t.suppressionApplied) rows.push(['Note', suppressionNote(t.threshold)]);
  return toCsv(rows);
}

/** The figures of `statistics` as the graph serves them (after suppression, where it applies). */
export interface StatisticsFigures {
  scope: string;
  suppressionApplied: boolean;
  threshold: number | null;
  totalCases: number | null;
  totalReturnees: number | null;
  adults: number | null;
  minors: number | null;
  averageMainApplicantAge: number | null;
  averageFamilyComposition: number | null;
  casesByMemberState: Array<{ key: string; count: number | null }>;
  casesPerMonth: Array<{ key: string; count: number | null }>;
  casesByReturnType: Array<{ key: string; count: number | null }>;
  casesByPackage: Array<{ key: string; count: number | null }>;
  casesByCountryOfOrigin: Array<{ key: string; count: number | null }>;
  casesByPartner: Array<{ key: string; count: number | null }>;
  casesByStatus: Array<{ key: string; count: number | null }>;
  casesByVulnerability: Array<{ key: string; count: number | null }>;
  milestoneDurations: Array<{
    milestone: string;
    cases: number | null;
    averageDays: number | null;
    medianDays: number | null;
  }>;
}

/** `statistics` as long CSV: figure, key, value (one line per figure, breakdown entry or duration measure). */
export function statisticsCsv(s: StatisticsFigures): string {
  const rows: CsvValue[][] = [['figure', 'key', 'value']];
  rows.push(['scope', null, s.scope]);
  for (const name of [
    'totalCases',
    'totalReturnees',
    'adults',
    'minors',
    'averageMainApplicantAge',
    'averageFamilyComposition',
  ] as const)
    rows.push([name, null, s[name]]);
  for (const name of [
    'casesByMemberState',
    'casesPerMonth',
    'casesByReturnType',
    'casesByPackage',
    'casesByCountryOfOrigin',
    'casesByPartner',
    'casesByStatus',
    'casesByVulnerability',
  ] as const)
    for (const { key, count } of s[name]) rows.push([name, key, count]);
  for (const d of s.milestoneDurations) {
    rows.push(['milestoneDurations.cases', d.milestone, d.cases]);
    rows.push(['milestoneDurations.averageDays', d.milestone, d.averageDays]);
    rows.push(['milestoneDurations.medianDays', d.milestone, d.medianDays]);
  }
  if (s.suppressionApplied) rows.push(['Note', null, suppressionNote(s.threshold)]);
  return toCsv(rows);
}
