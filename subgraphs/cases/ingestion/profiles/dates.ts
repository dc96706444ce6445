/**
 * Date formats in profiles: `dd.mm.yyyy`, `yyyymmdd`, `d/m/yy`, ... Tokens are `yyyy`, `yy`
 * (with a pivot), `mm`/`m` and `dd`/`d`; anything else is written as is. A format matches a
 * whole cell and a real calendar day, or the next format is tried.
 */

const TOKEN = /yyyy|yy|mm|dd|m|d/g;

export interface CompiledDateFormat {
  format: string;
  pattern: RegExp;
  order: Array<'year' | 'year2' | 'month' | 'day'>;
}

/** Compiles a format, or says why it is not one (a year, a month and a day, each once). */
export function compileDateFormat(format: string): CompiledDateFormat | string {
  if (format.length === 0 || format.length > 20) return 'must be 1-20 characters';
  const order: CompiledDateFormat['order'] = [];
  let source = '^';
  let last = 0;
  const tokens = [...format.matchAll(TOKEN)];
  tokens.forEach((match, i) => {
    source += escape(format.slice(last, match.index));
    const token = match[0];
    // Two digits when another number follows directly (yyyymmdd), one or two otherwise.
    const next = tokens[i + 1];
    const packed = next !== undefined && next.index === match.index + token.length;
    if (token === 'yyyy') source += '(\\d{4})';
    else if (token === 'yy') source += '(\\d{2})';
    else source += packed ? '(\\d{2})' : '(\\d{1,2})';
    order.push(token === 'yyyy' ? 'year' : token === 'yy' ? 'year2' : token.startsWith('m') ? 'month' : 'day');
    last = match.index + token.length;
  });
  source += `${escape(format.slice(last))}$`;
  const count = (kinds: string[]) => order.filter((k) => kinds.includes(k)).length;
  if (count(['year', 'year2']) !== 1 || count(['month']) !== 1 || count(['day']) !== 1)
    return 'must have one year (yyyy or yy), one month (mm or m) and one day (dd or d)';
  return { format, pattern: new RegExp(source), order };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when a format has a two-digit year, which needs a pivot. */
export function hasTwoDigitYear(format: string): boolean {
  return [...format.matchAll(TOKEN)].some((m) => m[0] === 'yy');
}

/**
 * A cell to an ISO date by the first format that fits, or null. A two-digit year up to the
 * pivot is 20yy, above it 19yy (pivot 30: 25 → 2025, 85 → 1985).
 */
export function parseDate(value: string, formats: readonly CompiledDateFormat[], pivot?: number): string | null {
  const text = value.trim();
  for (const format of formats) {
    const match = format.pattern.exec(text);
    if (!match) continue;
    let year = 0;
    let month = 0;
    let day = 0;
    format.order.forEach((kind, i) => {
      const n = Number(match[i + 1]);
      if (kind === 'year') year = n;
      else if (kind === 'year2') year = n <= (pivot ?? -1) ? 2000 + n : 1900 + n;
      else if (kind === 'month') month = n;
      else day = n;
    });
    if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) continue;
    return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }
  return null;
}

/** The legacy `dateFormat` of a profile: one format, a cell that does not fit left as written. */
export type LegacyDateFormat = 'yyyy-mm-dd' | 'dd/mm/yyyy' | 'dd.mm.yyyy' | 'dd-mm-yyyy' | 'mm/dd/yyyy';

/** A national date to ISO; left as written when it does not fit (validation then names it). */
export function toIsoDate(value: string, format: LegacyDateFormat): string {
  const parts = value.trim().split(/[./-]/);
  if (parts.length !== 3) return value;
  const [a, b, c] = parts as [string, string, string];
  const pad = (s: string) => s.padStart(2, '0');
  switch (format) {
    case 'yyyy-mm-dd':
      return `${a}-${pad(b)}-${pad(c)}`;
    case 'mm/dd/yyyy':
      return `${c}-${pad(a)}-${pad(b)}`;
    default:
      return `${c}-${pad(b)}-${pad(a)}`;
  }
}
