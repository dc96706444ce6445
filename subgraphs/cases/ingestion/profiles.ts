import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { COUNTRIES_OF_ORIGIN } from '../../../shared/domain.js';
import { csvRowToRecord, FeedSyntaxError, readFeed, type CsvRowMapper, type PositionedRecord } from './formats.js';

/**
 * A national system's CSV dialect, as a configuration file: which column is which
 * canonical field, delimiter, encoding, date format, national code lists and multi-valued
 * cells. A ministry adds its own by dropping a JSON file in `profiles/` (or PROFILES_DIR).
 */
export const profileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{2,40}$/, 'must be 2-40 lowercase letters, digits or -'),
    description: z.string().min(1).max(500),
    /** The Member State whose system writes this dialect (feeds of others may not use it). */
    memberState: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional(),
    delimiter: z.enum([',', ';', '\t', '|']),
    encoding: z.enum(['utf-8', 'windows-1252', 'iso-8859-1']),
    dateFormat: z.enum(['yyyy-mm-dd', 'dd/mm/yyyy', 'dd.mm.yyyy', 'dd-mm-yyyy', 'mm/dd/yyyy']),
    /** National column header → canonical field path (`mainApplicant.name`, `familyMembers.0.sex`). */
    columns: z.record(
      z.string().min(1),
      z.string().regex(/^[A-Za-z]+(\.(\d|[A-Za-z]+))*$/, 'must be a canonical field path'),
    ),
    /** Separator inside multi-valued cells (packages, vulnerabilities). */
    multiValueSeparator: z.string().min(1).max(3).default('|'),
    /** Per canonical field: national value → canonical value (case-insensitive). */
    codeLists: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.boolean(), z.number()]))).default({}),
    /** How country cells are written besides the code lists: ISO alpha-2, alpha-3, or English names. */
    countryCodes: z.enum(['alpha2', 'alpha3', 'name']).default('alpha2'),
    /** Canonical values for fields the national system does not send. */
    constants: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  })
  .strict();

export type FeedProfile = z.infer<typeof profileSchema>;

export class ProfileError extends Error {}

/** Loads and validates every profile; a bad file stops start-up naming the file and field. */
export function loadProfiles(directory: string): Map<string, FeedProfile> {
  const profiles = new Map<string, FeedProfile>();
  for (const file of readdirSync(directory)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(directory, file), 'utf8'));
    } catch (error) {
      throw new ProfileError(`profile ${file}: not valid JSON (${(error as Error).message})`);
    }
    const result = profileSchema.safeParse(raw);
    if (!result.success) {
      throw new ProfileError(
        `profile ${file}: ${result.error.issues.map((i) => `${i.path.join('.') || '(file)'} ${i.message}`).join('; ')}`,
      );
    }
    if (profiles.has(result.data.name))
      throw new ProfileError(`profile ${file}: the name "${result.data.name}" is used twice`);
    profiles.set(result.data.name, result.data);
  }
  return profiles;
}

const ALPHA3 = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.alpha3, c.code]));
const NAMES = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.name.toLowerCase(), c.code]));

/** A national date to ISO; left as written when it does not fit (validation then names it). */
export function toIsoDate(value: string, format: FeedProfile['dateFormat']): string {
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

const DATE_PATHS = /(^|\.)(departureDate|arrivalDate|dateOfBirth|requestDate)$/;
const LIST_PATHS = /(^|\.)(packages|vulnerabilities)$/;

function lookup(profile: FeedProfile, path: string, value: string): string | boolean | number {
  // Exact path, then any family member's field, then any person's field (`person.sex`).
  const member = path.replace(/^familyMembers\.\d+\./, 'familyMembers.');
  const person = member.replace(/^(mainApplicant|familyMembers)\./, 'person.');
  const list = profile.codeLists[path] ?? profile.codeLists[member] ?? profile.codeLists[person];
  if (list) {
    const hit = Object.entries(list).find(([k]) => k.toLowerCase() === value.toLowerCase());
    if (hit) return hit[1];
  }
  if (path === 'countryOfOrigin') {
    if (profile.countryCodes === 'alpha3') return ALPHA3.get(value.toUpperCase()) ?? value;
    if (profile.countryCodes === 'name') return NAMES.get(value.toLowerCase()) ?? value;
  }
  return value;
}

/** How the feed reader reads a national CSV: its encoding, delimiter, and each row mapped to a canonical record. */
export function profileDialect(profile: FeedProfile): {
  encoding: FeedProfile['encoding'];
  delimiter: string;
  trim: boolean;
  mapRow: CsvRowMapper;
} {
  let headerChecked = false;
  const mapRow: CsvRowMapper = (row) => {
    if (!headerChecked) {
      // A column the profile does not know refuses the feed: it would be silently lost.
      const unknown = Object.keys(row).filter((header) => !(header in profile.columns));
      if (unknown.length > 0)
        throw new FeedSyntaxError(`columns not in profile ${profile.name}: ${unknown.join(', ')}`, 1, unknown[0]!);
      headerChecked = true;
    }
    const canonical: Record<string, string> = {};
    const typed: Record<string, unknown> = {};
    for (const [header, raw] of Object.entries(row)) {
      const path = profile.columns[header]!;
      if (raw === '') continue;
      if (LIST_PATHS.test(path)) {
        typed[path] = raw
          .split(profile.multiValueSeparator)
          .map((v) => v.trim())
          .filter(Boolean)
          .map((v) => lookup(profile, path, v));
      } else if (DATE_PATHS.test(path)) canonical[path] = toIsoDate(raw, profile.dateFormat);
      else {
        const mapped = lookup(profile, path, raw);
        if (typeof mapped === 'string') canonical[path] = mapped;
        else typed[path] = mapped;
      }
    }
    const record = csvRowToRecord(canonical);
    for (const [path, value] of Object.entries(typed)) setPath(record, path, value);
    for (const [path, value] of Object.entries(profile.constants))
      if (getPath(record, path) === undefined) setPath(record, path, value);
    return record;
  };
  return { encoding: profile.encoding, delimiter: profile.delimiter, trim: true, mapRow };
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
