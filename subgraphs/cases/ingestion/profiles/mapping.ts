import { COUNTRIES_OF_ORIGIN } from '../../../../shared/domain.js';
import { FeedSyntaxError, readFeed, type CsvDialect, type CsvRowMapper, type PositionedRecord } from '../formats.js';
import { MAX_FAMILY_MEMBERS, MAX_PROBLEMS_PER_RECORD, validateRecord, type RecordProblem } from '../record.js';
import { compileDateFormat, parseDate, toIsoDate, type CompiledDateFormat } from './dates.js';
import { fieldKind, memberSlot } from './fields.js';
import { MAX_PATTERN_INPUT } from './patterns.js';
import { isUnknownColumn, planOf, type ColumnTarget } from './plan.js';
import type { FeedProfile } from './schema.js';
import { applyTransforms, type Scalar, type Transform } from './transforms.js';

/**
 * The pure mapping of one national CSV row to a canonical record (README, "Profiles").
 * Every value a profile maps either lands in the record or becomes a problem naming its
 * column; problems travel with the record (`mappingProblems`), so the worker rejects the
 * record with them and the report names the column and line.
 */

export interface MappedRow {
  record: Record<string, unknown>;
  /** Empty when the record is valid; else what the worker will report, each naming its column. */
  problems: RecordProblem[];
}

type Value = Scalar | Scalar[];
interface Entry {
  value: Value;
  column: string;
}

const ALPHA3 = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.alpha3, c.code]));
const NAMES = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.name.toLowerCase(), c.code]));

/** Each code list keyed as cells are compared (NFC, any case), built once: a lookup is one map read. */
const normalisedLists = new WeakMap<object, Map<string, Scalar>>();
function normalisedList(list: Record<string, Scalar>): Map<string, Scalar> {
  let map = normalisedLists.get(list);
  if (!map) {
    map = new Map();
    // The first of keys that differ only in case or composition wins, as the scan in file order did.
    for (const [key, value] of Object.entries(list)) {
      const normalised = key.normalize('NFC').toLowerCase();
      if (!map.has(normalised)) map.set(normalised, value);
    }
    normalisedLists.set(list, map);
  }
  return map;
}

function lookup(profile: FeedProfile, path: string, value: string): Scalar {
  // Exact path, then any family member's field, then any person's field (`person.sex`).
  const member = path.replace(/^familyMembers\.\d+\./, 'familyMembers.');
  const person = member.replace(/^(mainApplicant|familyMembers)\./, 'person.');
  const list = profile.codeLists[path] ?? profile.codeLists[member] ?? profile.codeLists[person];
  if (list) {
    const hit = normalisedList(list).get(value.normalize('NFC').toLowerCase());
    if (hit !== undefined) return hit;
  }
  if (path === 'countryOfOrigin') {
    if (profile.countryCodes === 'alpha3') return ALPHA3.get(value.toUpperCase()) ?? value;
    if (profile.countryCodes === 'name') return NAMES.get(value.toLowerCase()) ?? value;
  }
  return value;
}

const profileDates = new WeakMap<FeedProfile, CompiledDateFormat[]>();
function datesOf(profile: FeedProfile): CompiledDateFormat[] {
  let formats = profileDates.get(profile);
  if (!formats) {
    formats = (profile.dates?.formats ?? [])
      .map((f) => compileDateFormat(f))
      .filter((f): f is CompiledDateFormat => typeof f !== 'string');
    profileDates.set(profile, formats);
  }
  return formats;
}

const dated = (transforms: readonly Transform[]) => transforms.some((t) => typeof t === 'object' && 'date' in t);

/** A transformed value as its canonical field takes it: lists split, dates to ISO, code lists, numbers. */
function canonicalValue(
  profile: FeedProfile,
  path: string,
  value: Scalar,
  transforms: readonly Transform[],
): { ok: true; value: Value } | { ok: false; message: string } {
  const kind = fieldKind(path);
  if (kind === 'list') {
    if (typeof value !== 'string') return { ok: true, value: [value] };
    const items = value
      .split(profile.multiValueSeparator)
      .map((v) => v.trim())
      .filter(Boolean)
      .map((v) => lookup(profile, path, v));
    return { ok: true, value: items };
  }
  if (kind === 'count') {
    const n = typeof value === 'string' && /^\d{1,3}$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      return { ok: false, message: `${JSON.stringify(value)} is not a whole number of persons` };
    return { ok: true, value: n };
  }
  if (typeof value !== 'string') return { ok: true, value };
  if (kind === 'date' && !dated(transforms)) {
    if (!profile.dates) return { ok: true, value: toIsoDate(value, profile.dateFormat) };
    const iso = parseDate(value, datesOf(profile), profile.dates.pivot);
    if (iso === null)
      return {
        ok: false,
        message: `${JSON.stringify(value.slice(0, 60))} is not a date in any of the formats ${profile.dates.formats
          .map((f) => `"${f}"`)
          .join(', ')}`,
      };
    return { ok: true, value: iso };
  }
  const mapped = lookup(profile, path, value);
  if (kind === 'number' && typeof mapped === 'string' && /^\d+$/.test(mapped))
    return { ok: true, value: Number(mapped) };
  if (kind === 'boolean' && (mapped === 'true' || mapped === 'false')) return { ok: true, value: mapped === 'true' };
  return { ok: true, value: mapped };
}

const columnLabel = (columns: readonly string[]) => columns.map((c) => `"${c.slice(0, 80)}"`).join(' + ');

/** Maps one row (header → cell) with a parsed profile. Pure: no clock but the validation's "today". */
export function mapProfileRow(profile: FeedProfile, row: Readonly<Record<string, string>>): MappedRow {
  const plan = planOf(profile);
  const problems: Array<RecordProblem & { column: string }> = [];
  const top = new Map<string, Entry>();
  const slots = new Map<number, Map<string, Entry>>();
  const listed: Array<Map<string, Entry>> = [];
  const joinParts = new Map<string, Map<string, string>>();
  let count: { field: string; n: number; column: string } | undefined;

  const report = (path: string, column: string, message: string) => void problems.push({ path, column, message });
  const transformed = (raw: string, transforms: readonly Transform[], path: string, column: string) => {
    const result = applyTransforms(raw, transforms);
    if (!result.ok) report(path, column, result.message);
    return result.ok && result.value !== '' ? result.value : undefined;
  };
  const put = (target: ColumnTarget, value: Scalar, column: string) => {
    const typed = canonicalValue(profile, target.field, value, target.transforms);
    if (!typed.ok) return report(target.field, column, typed.message);
    if (fieldKind(target.field) === 'count') {
      count = { field: target.field, n: typed.value as number, column };
      return;
    }
    const slot = memberSlot(target.field);
    if (slot === null) return void top.set(target.field, { value: typed.value, column });
    const person = slots.get(slot) ?? new Map<string, Entry>();
    slots.set(slot, person);
    person.set(target.field.split('.')[2]!, { value: typed.value, column });
  };

  for (const [column, cell] of Object.entries(row)) {
    const rule = plan.rules.get(column);
    const raw = cell.trim();
    if (!rule || raw === '') continue;
    if (rule.kind === 'field') {
      const field = rule.target.field;
      const value = transformed(raw, rule.target.transforms, field, column);
      if (value === undefined) continue;
      if (plan.joins.has(field)) {
        const parts = joinParts.get(field) ?? new Map<string, string>();
        joinParts.set(field, parts.set(column, String(value)));
      } else put(rule.target, value, column);
      continue;
    }
    const firstField = rule.kind === 'split' ? rule.into[0]!.field : 'familyMembers';
    const whole = transformed(raw, rule.transforms, firstField, column);
    if (whole === undefined) continue;
    const text = String(whole);
    if (rule.kind === 'split') {
      let parts: string[];
      if (rule.separator !== undefined) {
        // The last field takes the rest: "Anna Maria Berg" split on " " into two is "Anna", "Maria Berg".
        const pieces = text.split(rule.separator);
        parts = [...pieces.slice(0, rule.into.length - 1), pieces.slice(rule.into.length - 1).join(rule.separator)];
        if (pieces.length < rule.into.length) {
          report(
            firstField,
            column,
            `${JSON.stringify(text.slice(0, 60))} has ${pieces.length} part(s) separated by ` +
              `"${rule.separator}", the profile splits it into ${rule.into.length}`,
          );
          continue;
        }
      } else {
        const match = text.length <= MAX_PATTERN_INPUT ? rule.pattern!.exec(text) : null;
        if (!match) {
          report(firstField, column, `${JSON.stringify(text.slice(0, 60))} does not match ${rule.pattern!.source}`);
          continue;
        }
        parts = match.slice(1).map((p) => p ?? '');
      }
      rule.into.forEach((target, i) => {
        const value = transformed(parts[i]!.trim(), target.transforms, target.field, column);
        if (value !== undefined) put(target, value, column);
      });
      continue;
    }
    for (const item of text.split(rule.separator)) {
      if (item.trim() === '') continue;
      const values = rule.fieldSeparator === undefined ? [item] : item.split(rule.fieldSeparator);
      const index = listed.length;
      if (values.length > rule.fields.length) {
        report(
          `familyMembers`,
          column,
          `member ${index + 1} ${JSON.stringify(item.trim().slice(0, 60))} has ${values.length} values, ` +
            `the profile reads ${rule.fields.length} (${rule.fields.map((f) => f.field).join(', ')})`,
        );
        continue;
      }
      const person = new Map<string, Entry>();
      rule.fields.forEach((target, i) => {
        const raw = values[i]?.trim() ?? '';
        if (raw === '') return;
        const path = `familyMembers.0.${target.field}`;
        const value = transformed(raw, target.transforms, path, column);
        if (value === undefined) return;
        const typed = canonicalValue(profile, path, value, target.transforms);
        if (!typed.ok) report(path, column, typed.message);
        else person.set(target.field, { value: typed.value, column });
      });
      listed.push(person);
    }
  }

  for (const [field, parts] of joinParts) {
    const join = plan.joins.get(field)!;
    const present = join.columns.filter((c) => parts.has(c));
    put({ field, transforms: [] }, present.map((c) => parts.get(c)!).join(join.separator), columnLabel(present));
  }

  // The record, and which column each of its fields came from (problems name it).
  const record: Record<string, unknown> = {};
  const source = new Map<string, string>();
  for (const [path, entry] of top) {
    setPath(record, path, entry.value);
    source.set(path, entry.column);
  }
  const members: Array<Record<string, unknown>> = [];
  const addMember = (person: Map<string, Entry>, constants: Record<string, Scalar> = {}) => {
    const member: Record<string, unknown> = {};
    for (const [field, entry] of person) {
      member[field] = entry.value;
      source.set(`familyMembers.${members.length}.${field}`, entry.column);
    }
    for (const [field, value] of Object.entries(constants)) member[field] ??= value;
    members.push(member);
  };
  // Numbered members in order, empty groups skipped, then members listed in cells.
  for (const slot of [...slots.keys()].sort((a, b) => a - b))
    addMember(slots.get(slot)!, plan.memberConstants.get(slot));
  for (const person of listed) addMember(person);
  if (count) {
    const n = count.field === 'familySize' ? count.n - 1 : count.n;
    if (n < 0) report(count.field, count.column, 'a family has at least one person, the main applicant');
    else if (n > MAX_FAMILY_MEMBERS)
      report(count.field, count.column, `${n} family members; a case has at most ${MAX_FAMILY_MEMBERS}`);
    else if (n < members.length)
      report(count.field, count.column, `says ${n} family member(s) but the row lists ${members.length}`);
    // Members the export only counts: they are the family all the same (its size, the entitlement).
    else while (members.length < n) members.push({ detailsUnknown: true });
  }
  if (members.length > 0) record.familyMembers = members;
  for (const [path, value] of Object.entries(profile.constants))
    if (getPath(record, path) === undefined) setPath(record, path, value);

  let found: RecordProblem[] = problems;
  if (problems.length === 0) {
    const result = validateRecord(record);
    // A problem on a field names its column; one on a whole list (familyMembers) the column that filled it.
    const columnOf = (path: string) =>
      source.get(path) ?? [...source].find(([p]) => p.startsWith(`${path}.`))?.[1] ?? '';
    if (!result.ok) found = result.problems.map((p) => ({ ...p, column: columnOf(p.path) }));
  }
  const named = found.slice(0, MAX_PROBLEMS_PER_RECORD).map((p) => {
    const column = 'column' in p && typeof p.column === 'string' ? p.column : '';
    const label =
      column === '' ? '' : column.startsWith('"') ? `columns ${column}: ` : `column "${column.slice(0, 80)}": `;
    return { path: p.path, message: `${label}${p.message}` };
  });
  if (named.length > 0) record.mappingProblems = named;
  return { record, problems: named };
}

/** How the feed reader reads a national CSV: its encoding, delimiter, header, and each row mapped. */
export function profileDialect(profile: FeedProfile): CsvDialect & { mapRow: CsvRowMapper } {
  const plan = planOf(profile);
  return {
    encoding: profile.encoding,
    delimiter: profile.delimiter,
    trim: true,
    headerLine: profile.headerLine,
    firstDataLine: profile.firstDataLine,
    checkHeader: (header) => {
      // A column the profile does not know refuses the feed: it would be silently lost.
      const unknown = profile.unknownColumns === 'ignore' ? [] : header.filter((c) => isUnknownColumn(plan, c));
      if (unknown.length > 0)
        throw new FeedSyntaxError(
          `columns not in profile ${profile.name}: ${unknown.slice(0, 20).join(', ')}` +
            `${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ''}; map them, list them in ` +
            `ignoreColumns, or set "unknownColumns": "ignore"`,
          profile.headerLine === 'none' ? (profile.firstDataLine ?? 1) : profile.headerLine,
          unknown[0]!.slice(0, 80),
        );
    },
    mapRow: (row) => mapProfileRow(profile, row).record,
  };
}

/** Decodes, parses and maps a whole national CSV (tests, small files): what the push API streams. */
export function parseWithProfile(profile: FeedProfile, body: Buffer): Promise<PositionedRecord[]> {
  return readFeed(body, 'csv', profileDialect(profile));
}

function getPath(target: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined),
      target,
    );
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Record<string, unknown> = target;
  parts.forEach((part, i) => {
    if (part === '__proto__' || part === 'constructor' || part === 'prototype') return;
    if (i === parts.length - 1) node[part] = value;
    else node = (node[part] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {}) as Record<string, unknown>;
  });
}
