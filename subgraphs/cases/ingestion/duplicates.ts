import type { IngestMark } from '../case/models.js';
import type { EarlierRecord, FeedDuplicates, RejectedRecord } from './contract.js';

/**
 * Every duplicate the ingestion recognises is found here: a case sent twice in one feed
 * (README, "Pushing a feed": refused at its second position, naming the first), and a
 * record a retried chunk already wrote (README, "Nothing lost, nothing counted twice").
 */

/** Case references longer than this are invalid anyway (README); they are not remembered. */
const MAX_REFERENCE_LENGTH = 64;

/** The case reference a duplicate is recognised by, or null when the record has none worth remembering. */
export function duplicateKeyOf(record: unknown): string | null {
  const reference = (record as { caseReference?: unknown } | null)?.caseReference;
  return typeof reference === 'string' && reference.length <= MAX_REFERENCE_LENGTH ? reference.normalize('NFC') : null;
}

/**
 * A name as it is compared (README, "Profiles", Unicode): names are stored as sent, but two
 * systems type "Zoë" as one character or as "e" and a combining diaeresis; after NFC they are
 * the same name. Used where a record is compared with another, never for what is stored.
 */
export function comparableName(name: string): string {
  return name.normalize('NFC');
}

/**
 * Remembers where each case reference first came in a feed. The push API feeds it the
 * whole feed as it streams (a reference is kept, never the record); the worker a chunk that
 * came without the push API's findings (inline jobs).
 */
export class DuplicateFinder {
  private readonly firstSeen = new Map<string, EarlierRecord>();

  /** Where the same case came earlier in the feed, or undefined for its first record. */
  see(record: unknown, position: number, line: number | null): EarlierRecord | undefined {
    const key = duplicateKeyOf(record);
    if (key === null) return undefined;
    const first = this.firstSeen.get(key);
    if (first) return first;
    this.firstSeen.set(key, { position, line });
    return undefined;
  }
}

/** The duplicates among one chunk's records (positions from `firstPosition`). */
export function duplicatesInChunk(
  records: readonly unknown[],
  firstPosition: number,
  lines?: ReadonlyArray<number | null>,
): FeedDuplicates {
  const finder = new DuplicateFinder();
  const found: FeedDuplicates = {};
  records.forEach((record, i) => {
    const earlier = finder.see(record, firstPosition + i, lines?.[i] ?? null);
    if (earlier) found[firstPosition + i] = earlier;
  });
  return found;
}

/** The rejection of a record whose case came earlier in the same feed. */
export function duplicateRejection(
  position: number,
  caseReference: string | null,
  earlier: EarlierRecord,
): RejectedRecord {
  const where = `position ${earlier.position}${earlier.line ? ` (line ${earlier.line})` : ''}`;
  return {
    position,
    caseReference,
    path: 'caseReference',
    message:
      `duplicate in this feed: the same case reference is at ${where}; ` +
      'send one record per case, with the latest recordVersion',
  };
}

/** True when this very feed position already wrote the case: an earlier attempt of the same chunk. */
export function isReplayedWrite(mark: IngestMark | undefined, feedId: string, position: number): mark is IngestMark {
  return mark !== undefined && mark.feedId === feedId && mark.position === position;
}
