import { z } from 'zod';
import { checkPlan } from './plan.js';
import { profileShape, type FeedProfile } from './shape.js';

export { transformSchema, type ColumnSpec, type FeedProfile, type MemberGroup } from './shape.js';

/** A profile: its shape, and the checks across its constructs that keep a feed from losing data (plan.ts). */
export const profileSchema = profileShape.superRefine((profile, ctx) => {
  for (const issue of checkPlan(profile)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...issue });
});

export class ProfileError extends Error {}

/** Issues kept in a ProfileError's message; a hostile profile can have thousands. */
const ISSUES_NAMED = 10;

/** Zod's issues in words: the path and message of each, the best branch of a union. */
export function describeIssues(error: z.ZodError): string {
  const flat = error.issues.flatMap(function flatten(issue): z.ZodIssue[] {
    if (issue.code !== 'invalid_union') return [issue];
    // The branch that got furthest into the value says what is wrong with it.
    // A branch with keys it does not know is the wrong branch, whatever its depth.
    const depth = (e: z.ZodError) =>
      Math.max(...e.issues.map((i) => i.path.length)) -
      (e.issues.some((i) => i.code === 'unrecognized_keys') ? 100 : 0);
    const best = [...issue.unionErrors].sort((a, b) => depth(b) - depth(a))[0];
    if (!best || depth(best) <= issue.path.length) return [issue];
    return best.issues.flatMap(flatten);
  });
  const named = flat.slice(0, ISSUES_NAMED).map((i) => `${i.path.join('.') || '(profile)'} ${i.message}`);
  if (flat.length > ISSUES_NAMED) named.push(`and ${flat.length - ISSUES_NAMED} more problems`);
  return named.join('; ');
}

/** Validates a profile from anywhere (a file, the graph): the parsed profile, or a ProfileError naming `source`. */
export function parseProfile(raw: unknown, source: string): FeedProfile {
  const result = profileSchema.safeParse(raw);
  if (!result.success) throw new ProfileError(`profile ${source}: ${describeIssues(result.error)}`);
  return result.data;
}
