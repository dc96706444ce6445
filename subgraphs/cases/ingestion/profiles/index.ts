/**
 * National CSV dialects as configuration (README, "Profiles"): the profile language and its
 * validation (schema), loading the profile folder (load), and the pure mapping of a row to a
 * canonical record (mapping).
 */
export { describeIssues, parseProfile, profileSchema, ProfileError, type FeedProfile } from './schema.js';
export { MAX_PROFILE_COLUMNS } from './shape.js';
export { loadProfileFile, loadProfiles, MAX_PROFILE_BYTES } from './load.js';
export { mapProfileRow, parseWithProfile, profileDialect, type MappedRow } from './mapping.js';
export { applyTransform, applyTransforms, transformSchema, type Scalar, type Transform } from './transforms.js';
export { parseDate, toIsoDate } from './dates.js';
export { unsafePattern } from './patterns.js';
