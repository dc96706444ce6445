import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseProfile, ProfileError, type FeedProfile } from './schema.js';

/** A profile is a few kilobytes; a larger file is a mistake or an attack, refused before it is parsed. */
export const MAX_PROFILE_BYTES = 256 * 1024;

/** Reads and validates one profile file; a ProfileError names the file and what is wrong. */
export function loadProfileFile(path: string, file: string): FeedProfile {
  const size = statSync(path).size;
  if (size > MAX_PROFILE_BYTES)
    throw new ProfileError(`profile ${file}: ${size} bytes, more than the ${MAX_PROFILE_BYTES} a profile may have`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ProfileError(`profile ${file}: not valid JSON (${(error as Error).message.slice(0, 200)})`);
  }
  return parseProfile(raw, file);
}

/** Loads and validates every profile; a bad file stops start-up naming the file, the column and the field. */
export function loadProfiles(directory: string): Map<string, FeedProfile> {
  const profiles = new Map<string, FeedProfile>();
  for (const file of readdirSync(directory)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const profile = loadProfileFile(join(directory, file), file);
    if (profiles.has(profile.name)) throw new ProfileError(`profile ${file}: the name "${profile.name}" is used twice`);
    profiles.set(profile.name, profile);
  }
  return profiles;
}
