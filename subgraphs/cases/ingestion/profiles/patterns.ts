import { RE2JS } from 're2js';

/**
 * Regular expressions written in profiles run on every cell of every feed, inside the
 * gateway. JavaScript's own engine backtracks: a pattern such as `^(aa?)*$` or `.*.*.*x`
 * takes seconds to hours on one cell, and no shape check catches them all. So profile
 * patterns run on RE2 (re2js), whose matching time grows linearly with the cell; RE2 has no
 * back-references or look-arounds, which are refused when the profile is loaded. Patterns are
 * also bounded in length, and only run on cells of bounded length; the shapes that backtrack
 * in other engines are still refused, so a profile stays portable.
 */

export const MAX_PATTERN_LENGTH = 200;
/** Longer cells are reported, not matched: a national cell is a few dozen characters. */
export const MAX_PATTERN_INPUT = 1_000;

/** Why a pattern is refused, or null when it is safe to run. */
export function unsafePattern(source: string): string | null {
  if (source.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (/\\[1-9]|\\k</.test(source)) return 'uses a back-reference, which can backtrack without bound';
  try {
    RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    return `is not a valid regular expression (${(error as Error).message.slice(0, 120)})`;
  }
  if (repeatsARepetition(source))
    return 'repeats a group that itself repeats or alternates (like (a+)+ or (a|ab)*), which backtracks without bound';
  return null;
}

/** True when a group with an unbounded quantifier contains a quantifier or an alternation. */
function repeatsARepetition(source: string): boolean {
  const open: Array<{ risky: boolean }> = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') open.push({ risky: false });
    else if (ch === ')') {
      const group = open.pop();
      const next = source[i + 1];
      const unbounded = next === '*' || next === '+' || next === '{';
      if (group?.risky && unbounded) return true;
      // A group's repetition makes its enclosing group risky too.
      if (open.length > 0 && (group?.risky || unbounded)) open[open.length - 1]!.risky = true;
    } else if (open.length > 0 && (ch === '*' || ch === '+' || ch === '|' || ch === '{')) {
      open[open.length - 1]!.risky = true;
    }
  }
  return false;
}

/** How many capturing groups a pattern has (-1 for an unsafe one). */
export function groupCount(source: string): number {
  if (unsafePattern(source) !== null) return -1;
  return RE2JS.compile(source, RE2JS.CASE_INSENSITIVE).groupCount();
}

/**
 * Compiles a pattern (case-insensitive, Unicode). An unsafe one (refused when its profile is
 * loaded) compiles to a pattern that never matches, so checking a refused profile cannot throw.
 */
export function compilePattern(source: string): ProfilePattern {
  if (unsafePattern(source) !== null) return NEVER;
  const compiled = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  return {
    source,
    test: (text) => compiled.matcher(text).find(),
    exec: (text) => {
      const matcher = compiled.matcher(text);
      if (!matcher.find()) return null;
      return Array.from({ length: compiled.groupCount() + 1 }, (_, i) => matcher.group(i) ?? undefined);
    },
  };
}

/** A compiled profile pattern: the parts of RegExp the profile language uses, in linear time. */
export interface ProfilePattern {
  readonly source: string;
  test(text: string): boolean;
  /** The whole match and each group (undefined when a group took no part), or null. */
  exec(text: string): Array<string | undefined> | null;
}

const NEVER: ProfilePattern = { source: '(?!)', test: () => false, exec: () => null };
