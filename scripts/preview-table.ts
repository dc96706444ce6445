/**
 * The feed preview's answer (POST /ingest/v1/preview, gateway/preview.ts) as a table a person reads in a
 * terminal: one line per record, then each problem under its record with line, column and field.
 */

/** The parts of the preview's answer the table shows. */
export interface PreviewAnswer {
  ok: boolean;
  format: string;
  truncated: boolean;
  profile: { name: string; source: string | null } | null;
  limits: { maxRecords: number };
  counts: { read: number; accepted: number; rejected: number };
  feedError: { code: string; message: string; line: number | null; column: number | string | null } | null;
  rows: Array<{
    position: number;
    line: number | null;
    caseReference: string | null;
    accepted: boolean;
    record: { familyMembers?: unknown[] } | null;
    eligibility: { outcome: string; reasons: string[] } | null;
    problems: Array<{ path: string; column: string | null; line: number | null; message: string }>;
  }>;
  notChecked: string[];
}

const cell = (value: string, width: number) =>
  value.length > width ? `${value.slice(0, width - 1)}…` : value.padEnd(width);

export function previewTable(answer: PreviewAnswer): string {
  const out: string[] = [];
  const profile = answer.profile
    ? ` with profile ${answer.profile.name}${answer.profile.source === 'request' ? ' (sent, not installed)' : ''}`
    : '';
  out.push(
    `preview of ${answer.format}${profile}: read ${answer.counts.read}, would be accepted ` +
      `${answer.counts.accepted}, rejected ${answer.counts.rejected}; nothing was stored`,
  );
  if (answer.truncated) out.push(`only the first ${answer.limits.maxRecords} records were read`);
  if (answer.feedError) {
    const at = answer.feedError.line ? ` at line ${answer.feedError.line}` : '';
    const column = answer.feedError.column ? `, column ${String(answer.feedError.column)}` : '';
    out.push(`a push would be refused whole: ${answer.feedError.code}${at}${column}: ${answer.feedError.message}`);
  }
  if (answer.rows.length > 0) {
    const header = `${'record'.padStart(6)}  ${'line'.padStart(5)}  ${cell('case reference', 24)}  result  `;
    out.push(`${header}  persons  eligibility`);
    for (const row of answer.rows) {
      const persons = row.record ? String(1 + (row.record.familyMembers?.length ?? 0)) : '-';
      const reasons = row.eligibility?.reasons.length ? ` (${row.eligibility.reasons.join(', ')})` : '';
      const eligibility = row.eligibility ? `${row.eligibility.outcome}${reasons}` : '-';
      out.push(
        `${String(row.position).padStart(6)}  ${String(row.line ?? '-').padStart(5)}  ` +
          `${cell(row.caseReference ?? '(none)', 24)}  ${row.accepted ? 'accepted' : 'REJECTED'}  ` +
          `${persons.padStart(7)}  ${eligibility}`,
      );
      for (const problem of row.problems) {
        const column = problem.column ? `column "${problem.column}", ` : '';
        out.push(`${' '.repeat(16)}${column}${problem.path}: ${problem.message}`);
      }
    }
  }
  out.push(`not checked by a preview: ${answer.notChecked.join('; ')}`);
  return `${out.join('\n')}\n`;
}
