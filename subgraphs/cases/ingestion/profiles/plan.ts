import { MAX_FAMILY_MEMBERS } from '../record.js';
import { fieldKind, memberSlot, REQUIRED_FIELDS } from './fields.js';
import { compilePattern, type ProfilePattern } from './patterns.js';
import type { ColumnSpec, FeedProfile } from './shape.js';
import { CODE_MAP_SEPARATOR, type Scalar, type Transform } from './transforms.js';

/**
 * A profile compiled for mapping rows: one rule per column, joins by field, member groups
 * expanded into columns. Compiling also finds what would lose data, which the schema
 * reports when the profile is loaded (README, "Profiles", no silent loss).
 */

export interface ColumnTarget {
  field: string;
  transforms: Transform[];
}

export type ColumnRule =
  | { kind: 'field'; column: string; target: ColumnTarget }
  | {
      kind: 'split';
      column: string;
      transforms: Transform[];
      separator?: string;
      pattern?: ProfilePattern;
      into: ColumnTarget[];
    }
  | {
      kind: 'members';
      column: string;
      transforms: Transform[];
      separator: string;
      fieldSeparator?: string;
      /** Person fields (`name`, `dateOfBirth`) in the order they come in each member. */
      fields: ColumnTarget[];
    };

export interface ProfilePlan {
  rules: Map<string, ColumnRule>;
  /** Field → the columns joined into it, in order, and their separator. */
  joins: Map<string, { columns: string[]; separator: string }>;
  /** Member slot → values set on the member when any of its group's cells is filled. */
  memberConstants: Map<number, Record<string, Scalar>>;
  ignoreNames: Set<string>;
  ignorePatterns: ProfilePattern[];
}

export interface PlanIssue {
  path: Array<string | number>;
  message: string;
}

type Target = string | { field: string; transforms?: Transform[] };
const targetOf = (t: Target, prefix = ''): ColumnTarget =>
  typeof t === 'string'
    ? { field: prefix + t, transforms: [] }
    : { field: prefix + t.field, transforms: t.transforms ?? [] };

function ruleOf(column: string, spec: ColumnSpec): ColumnRule {
  if (typeof spec === 'string' || 'field' in spec) return { kind: 'field', column, target: targetOf(spec) };
  if ('split' in spec)
    return {
      kind: 'split',
      column,
      transforms: spec.transforms,
      separator: spec.split.separator,
      pattern: spec.split.pattern === undefined ? undefined : compilePattern(spec.split.pattern),
      into: spec.split.into.map((t) => targetOf(t)),
    };
  return {
    kind: 'members',
    column,
    transforms: spec.transforms,
    separator: spec.members.separator,
    fieldSeparator: spec.members.fieldSeparator,
    fields: spec.members.fields.map((t) => targetOf(t)),
  };
}

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

function build(profile: FeedProfile): { plan: ProfilePlan; issues: PlanIssue[] } {
  const issues: PlanIssue[] = [];
  const rules = new Map<string, ColumnRule>();
  for (const [column, spec] of Object.entries(profile.columns)) rules.set(column, ruleOf(column, spec));

  // Member groups become columns on consecutive member slots.
  const memberConstants = new Map<number, Record<string, Scalar>>();
  const explicit = [...rules.values()].some((r) => r.kind === 'field' && memberSlot(r.target.field) !== null);
  if (explicit && profile.memberGroups.length > 0)
    issues.push({
      path: ['memberGroups'],
      message: 'columns already number family members (familyMembers.0...): use either those or memberGroups',
    });
  let slot = 0;
  profile.memberGroups.forEach((group, g) => {
    for (let i = 0; i < group.count; i++, slot++) {
      if (slot >= MAX_FAMILY_MEMBERS) {
        issues.push({
          path: ['memberGroups', g, 'count'],
          message: `the groups have more than ${MAX_FAMILY_MEMBERS} members, the most a case has besides its applicant`,
        });
        return;
      }
      for (const [key, target] of Object.entries(group.fields)) {
        const column = group.header.replaceAll('{n}', String(group.from + i)).replaceAll('{field}', key);
        if (rules.has(column))
          issues.push({ path: ['memberGroups', g, 'header'], message: `makes column "${column}", already in columns` });
        rules.set(column, { kind: 'field', column, target: targetOf(target, `familyMembers.${slot}.`) });
      }
      if (Object.keys(group.constants).length > 0) memberConstants.set(slot, group.constants);
    }
  });

  // Which columns fill which field.
  const fieldColumns = new Map<string, string[]>();
  const fills = (field: string, column: string) =>
    fieldColumns.set(field, [...(fieldColumns.get(field) ?? []), column]);
  for (const rule of rules.values()) {
    if (rule.kind === 'field') fills(rule.target.field, rule.column);
    else if (rule.kind === 'split') for (const t of rule.into) fills(t.field, rule.column);
  }
  const joins = new Map(Object.entries(profile.joins));
  for (const [field, join] of joins) {
    if (fieldKind(field) === null) {
      issues.push({ path: ['joins', field], message: `"${field}" is not a canonical field` });
      continue;
    }
    const mapped = fieldColumns.get(field) ?? [];
    const strays = join.columns.filter((c) => !mapped.includes(c));
    if (strays.length > 0)
      issues.push({
        path: ['joins', field, 'columns'],
        message: `${quoted(strays)} must be in columns, mapped to "${field}", to be joined into it`,
      });
    const splitInto = [...rules.values()].some((r) => r.kind === 'split' && r.into.some((t) => t.field === field));
    if (splitInto) issues.push({ path: ['joins', field], message: 'a join takes whole columns, not parts of a split' });
    if (new Set(join.columns).size !== join.columns.length)
      issues.push({ path: ['joins', field, 'columns'], message: 'names a column twice' });
  }
  for (const [field, columns] of fieldColumns) {
    if (columns.length < 2) continue;
    const join = joins.get(field);
    const unjoined = columns.filter((c) => !join?.columns.includes(c));
    if (unjoined.length > 0)
      issues.push({
        path: ['columns', unjoined[unjoined.length - 1]!],
        message:
          `columns ${quoted(columns)} all map to "${field}": the last would silently win. Say how to join them ` +
          `("joins": {"${field}": {"columns": [${quoted(columns)}], "separator": " "}}) ` +
          'or map them to different fields',
      });
  }
  const counts = ['familySize', 'familyMemberCount'].filter((f) => fieldColumns.has(f));
  if (counts.length > 1)
    issues.push({ path: ['columns'], message: 'map either familySize or familyMemberCount, not both' });
  for (const [field, columns] of fieldColumns)
    if (fieldKind(field) === 'count' && joins.has(field))
      issues.push({ path: ['joins', field], message: `a count cannot be joined (columns ${quoted(columns)})` });

  // A codeMap fills vulnerability codes only, split as the field's list is (no code silently lost).
  for (const rule of rules.values()) {
    const targets = rule.kind === 'field' ? [rule.target] : rule.kind === 'split' ? rule.into : rule.fields;
    const ruleMaps = rule.kind === 'field' ? [] : rule.transforms;
    for (const target of targets)
      for (const t of [...ruleMaps, ...target.transforms]) {
        if (typeof t !== 'object' || !('codeMap' in t)) continue;
        if (!/(^|\.)vulnerabilityCodes$/.test(target.field))
          issues.push({
            path: ['columns', rule.column],
            message: `a codeMap maps vulnerability codes only, not "${target.field}" (use "map" or codeLists)`,
          });
        const separator = t.separator ?? CODE_MAP_SEPARATOR;
        if (separator !== profile.multiValueSeparator)
          issues.push({
            path: ['columns', rule.column],
            message:
              `the codeMap splits cells on "${separator}" but the profile's multiValueSeparator is ` +
              `"${profile.multiValueSeparator}": give the codeMap "separator": "${profile.multiValueSeparator}"`,
          });
      }
  }

  // Constants: canonical fields only.
  for (const field of Object.keys(profile.constants)) {
    const kind = fieldKind(field);
    if (kind === null || kind === 'count')
      issues.push({ path: ['constants', field], message: `"${field}" is not a canonical field a constant can fill` });
  }
  for (const field of REQUIRED_FIELDS) {
    if (!fieldColumns.has(field) && !(field in profile.constants))
      issues.push({
        path: ['columns'],
        message: `no column maps the required field "${field}" and there is no constant for it`,
      });
  }

  // Ignored columns are not mapped ones; without a header, columns are named by position.
  const ignorePatterns = profile.ignoreColumnPatterns.map(compilePattern);
  for (const column of rules.keys()) {
    if (profile.ignoreColumns.includes(column))
      issues.push({ path: ['ignoreColumns'], message: `"${column}" is mapped in columns and cannot be ignored` });
    const pattern = ignorePatterns.find((p) => p.test(column));
    if (pattern && !profile.ignoreColumns.includes(column))
      issues.push({
        path: ['ignoreColumnPatterns'],
        message: `${pattern.source} matches "${column}", which columns maps: it would be lost`,
      });
    if (profile.headerLine === 'none' && !/^#[1-9]\d{0,3}$/.test(column))
      issues.push({
        path: ['columns', column],
        message: 'without a header row (headerLine "none") columns are named by position: "#1", "#2", ...',
      });
  }
  if (profile.firstDataLine !== undefined && profile.headerLine !== 'none')
    issues.push({ path: ['firstDataLine'], message: 'only without a header row; data starts after the header line' });

  const plan: ProfilePlan = {
    rules,
    joins,
    memberConstants,
    ignoreNames: new Set(profile.ignoreColumns),
    ignorePatterns,
  };
  return { plan, issues };
}

/** What in a profile would lose data or cannot work; empty for a sound profile. */
export function checkPlan(profile: FeedProfile): PlanIssue[] {
  return build(profile).issues;
}

const plans = new WeakMap<FeedProfile, ProfilePlan>();

/** The compiled plan of a parsed (sound) profile, made once per profile object. */
export function planOf(profile: FeedProfile): ProfilePlan {
  let plan = plans.get(profile);
  if (!plan) plans.set(profile, (plan = build(profile).plan));
  return plan;
}

/** True when a column the file has is neither mapped nor ignored. */
export function isUnknownColumn(plan: ProfilePlan, column: string): boolean {
  if (plan.rules.has(column) || plan.ignoreNames.has(column)) return false;
  return !plan.ignorePatterns.some((p) => column.length <= 1_000 && p.test(column));
}
