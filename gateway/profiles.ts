import type { Redis } from 'ioredis';
import { PRINCIPAL_HEADER, signPrincipal, type Principal } from '../shared/auth.js';
import type { Logger } from '../shared/logger.js';
import { feedProfilesChannel, profileSchema, type FeedProfile } from '../subgraphs/cases/ingestion/index.js';

/**
 * The national CSV profiles as the push API reads them (README, "Managing profiles"): the
 * latest ACTIVE version of each, read from the cases subgraph (never its database), reloaded
 * when the subgraph announces a change on Redis and on a timer besides, so every gateway
 * instance sees a new version within seconds and none needs a restart.
 */

/** What the push API asks of the profiles: one by name, all of them, and the version it has of one. */
export interface ProfileCatalog {
  get(name: string): FeedProfile | undefined;
  keys(): Iterable<string>;
  values(): Iterable<FeedProfile>;
  /** The version of a profile this catalog handed out (from `get` or `values`). */
  versionOf(profile: FeedProfile): number | undefined;
  /** False until the profiles were read once: a push naming one then cannot be told apart from a typo. */
  loaded(): boolean;
}

/** One profile version as the cases subgraph answers it. */
export interface StoredProfile {
  name: string;
  version: number;
  profile: string;
}

/** A set of profile versions, checked again with the profile language this gateway runs. */
export interface ProfileSet {
  profiles: Map<string, FeedProfile>;
  versions: WeakMap<FeedProfile, number>;
  /** Versions this gateway cannot read (a newer profile language, a corrupted text), with why. */
  refused: Array<{ name: string; version: number; reason: string }>;
}

/** Parses the stored versions; one this gateway cannot read is left out and named, never fatal. Pure. */
export function profileSet(stored: ReadonlyArray<StoredProfile>): ProfileSet {
  const profiles = new Map<string, FeedProfile>();
  const versions = new WeakMap<FeedProfile, number>();
  const refused: ProfileSet['refused'] = [];
  for (const row of stored) {
    let raw: unknown;
    try {
      raw = JSON.parse(row.profile);
    } catch (error) {
      refused.push({ name: row.name, version: row.version, reason: `not JSON: ${(error as Error).message}` });
      continue;
    }
    const parsed = profileSchema.safeParse(raw);
    if (!parsed.success || parsed.data.name !== row.name) {
      const reason = parsed.success ? `names itself ${parsed.data.name}` : parsed.error.issues[0]?.message;
      refused.push({ name: row.name, version: row.version, reason: reason ?? 'invalid' });
      continue;
    }
    profiles.set(row.name, parsed.data);
    versions.set(parsed.data, row.version);
  }
  return { profiles, versions, refused };
}

/**
 * Who the gateway is when it reads the profiles: the support desk reads every profile (shared/access.ts,
 * `mayReadProfile`), and this principal does nothing else.
 */
export const PROFILE_READER: Principal = { role: 'SUPPORT_DESK', subject: 'system:gateway-profile-source' };

const PROFILES_QUERY = '{ feedProfiles { name version profile } }';

/** Reads the active profiles from the cases subgraph, signed like every gateway→subgraph call. */
export function casesProfileReader(
  casesUrl: string,
  signingKey: string,
  timeoutMs: number,
): () => Promise<StoredProfile[]> {
  return async () => {
    const response = await fetch(casesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: signPrincipal(PROFILE_READER, signingKey) },
      body: JSON.stringify({ query: PROFILES_QUERY }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as {
      data?: { feedProfiles?: StoredProfile[] } | null;
      errors?: Array<{ message: string }>;
    };
    if (!response.ok || !body.data?.feedProfiles)
      throw new Error(`cases subgraph answered ${response.status}: ${body.errors?.[0]?.message ?? 'no profiles'}`);
    return body.data.feedProfiles;
  };
}

export interface LiveProfilesOptions {
  read: () => Promise<StoredProfile[]>;
  /** A connection of its own: a subscribed Redis connection does nothing else. */
  subscriber: Redis;
  prefix: string;
  /** The periodic reload, for a change announced while this instance was not listening. */
  reloadMs: number;
  /** How soon to try again while the profiles were never read (the cases subgraph not up yet). */
  retryMs?: number;
  logger: Logger;
}

/** The live catalog: reloaded on every announced change, on a timer, and after Redis reconnects. */
export class LiveProfiles implements ProfileCatalog {
  private current: ProfileSet | undefined;
  /** Every version handed out, from whichever read: a push holding an older one still learns its version. */
  private readonly versions = new WeakMap<FeedProfile, number>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: LiveProfilesOptions) {}

  get(name: string): FeedProfile | undefined {
    return this.current?.profiles.get(name);
  }

  keys(): Iterable<string> {
    return this.current?.profiles.keys() ?? [];
  }

  values(): Iterable<FeedProfile> {
    return this.current?.profiles.values() ?? [];
  }

  versionOf(profile: FeedProfile): number | undefined {
    return this.versions.get(profile);
  }

  loaded(): boolean {
    return this.current !== undefined;
  }

  /** Listens for changes, then reads the profiles once; a failed first read is retried, never fatal. */
  async start(): Promise<void> {
    const { subscriber, prefix } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === feedProfilesChannel(prefix)) void this.reload();
    });
    // Announcements made while the connection was down are lost: read everything again once back.
    subscriber.on('ready', () => void (this.current && this.reload()));
    await subscriber.subscribe(feedProfilesChannel(prefix));
    await this.reload();
  }

  /**
   * Reads the profiles again; calls while one read runs make exactly one more read after it, so
   * an older answer never replaces a newer one.
   */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.stopped);
      this.running = undefined;
      this.schedule();
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.options.subscriber.disconnect();
  }

  private async readOnce(): Promise<void> {
    try {
      const next = profileSet(await this.options.read());
      for (const refused of next.refused)
        this.options.logger.error(refused, 'a stored profile version cannot be read by this gateway; left out');
      const before = this.current;
      for (const profile of next.profiles.values()) this.versions.set(profile, next.versions.get(profile)!);
      this.current = next;
      const changed = [...next.profiles.keys()].filter(
        (name) => before?.versions.get(before.profiles.get(name)!) !== next.versions.get(next.profiles.get(name)!),
      );
      if (changed.length > 0 || before?.profiles.size !== next.profiles.size)
        this.options.logger.info({ profiles: next.profiles.size, changed }, 'feed profiles loaded');
    } catch (error) {
      // The last profiles read stay in use; the timer tries again.
      this.options.logger.warn({ err: (error as Error).message }, 'feed profiles could not be read');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = this.current ? this.options.reloadMs : (this.options.retryMs ?? 1_000);
    this.timer = setTimeout(() => void this.reload(), delay);
    this.timer.unref();
  }
}
