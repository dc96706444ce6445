/**
 * Regular expressions written in profiles run on every cell of every feed, so a pattern
 * that backtracks catastrophically would stall the push API. Patterns are bounded in
 * length, may not use back-references or quantified groups that themselves repeat or
 * alternate (the shapes that backtrack exponentially), and only run on cells of bounded
 * length.
 */

export const MAX_PATTERN_LENGTH = 200;
/** Longer cells are reported, not matched: a national cell is a few dozen characters. */
export const MAX_PATTERN_INPUT = 1_000;

/** Why a pattern is refused, or null when it is safe to run. */
export function unsafePattern(source: string): string | null {
  if (source.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(source, 'u');
  } catch (error) {
    return `is not a valid regular expression (${(error as Error).message.slice(0, 120)})`;
  }
  if (/\\[1-9]|\\k</.test(source)) return 'uses a back-reference, which can backtrack without bound';
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
  return new RegExp(`${source}|`, 'u').exec('')!.length - 1;
}

/**
 * Compiles a pattern (case-insensitive, Unicode). An unsafe one (refused when its profile is
 * loaded) compiles to a pattern that never matches, so checking a refused profile cannot throw.
 */
export function compilePattern(source: string): RegExp {
  return unsafePattern(source) === null ? new RegExp(source, 'iu') : /(?!)/;
}
