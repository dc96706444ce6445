import { Schema, type Connection, type Model } from 'mongoose';
import { mayManageProfile, mayReadProfile } from '../../../shared/access.js';
import type { Principal } from '../../../shared/auth.js';
import { badUserInput, conflict, forbidden, notFound, principalRequired } from '../../../shared/errors.js';
import type { FeedProfileRef } from './contract.js';
import { MAX_PROFILE_COLUMNS, profileSchema, type FeedProfile } from './profiles/index.js';
import { modelOn } from '../../../shared/mongo.js';

/**
 * The managed national CSV profiles (README, "Managing profiles"): every version of a profile
 * is a document of its own, written once; a push reads the latest ACTIVE version of a name.
 * The support desk and administrators manage every profile, a Member State its own system's;
 * every change is recorded in `feedProfileChanges` and announced on Redis, so every gateway
 * instance reloads within seconds. The profiles folder is only the seed.
 */

export type FeedProfileStatus = 'ACTIVE' | 'RETIRED';
export type FeedProfileAction = 'SEED' | 'CREATE' | 'NEW_VERSION' | 'RETIRE';

/** Who made a version or a change: a principal, or the seed from the profiles folder. */
export interface ProfileActor {
  role: string;
  subject: string;
  memberState?: string;
}

/** One version of a profile; `_id` `<name>:<version>`, so two writers of one version cannot both win. */
export interface FeedProfileVersionDoc {
  _id: string;
  name: string;
  version: number;
  memberState: string | null;
  description: string;
  /**
   * The validated profile as JSON text: column headers are free text (dots, `$`), which a
   * document's keys may not hold.
   */
  profile: string;
  status: FeedProfileStatus;
  createdBy: ProfileActor;
  createdAt: Date;
  note: string | null;
}

/** The audit trail: one entry per change, never updated. */
export interface FeedProfileChangeDoc {
  name: string;
  version: number;
  action: FeedProfileAction;
  actor: ProfileActor;
  at: Date;
  note: string | null;
  requestId: string | null;
}

/** Largest profile text taken: the national profiles are a few KiB; far more is a mistake or an attack. */
export const MAX_PROFILE_BYTES = 64 * 1024;
/** Most columns a profile may name: the profile language's own limit, checked before the rest of it. */
export { MAX_PROFILE_COLUMNS };
/** Longest note a change may carry. */
export const MAX_NOTE_LENGTH = 1_000;

const versionSchema = new Schema<FeedProfileVersionDoc>(
  { _id: String },
  { collection: 'feedProfiles', versionKey: false, strict: false },
);
versionSchema.index({ name: 1, version: -1 }, { name: 'name_version' });
const changeSchema = new Schema<FeedProfileChangeDoc>(
  {},
  { collection: 'feedProfileChanges', versionKey: false, strict: false },
);
changeSchema.index({ name: 1, at: -1 }, { name: 'name_at' });

export interface ProfileModels {
  Version: Model<FeedProfileVersionDoc>;
  Change: Model<FeedProfileChangeDoc>;
}

export function profileModels(connection: Connection): ProfileModels {
  return {
    Version: modelOn<FeedProfileVersionDoc>(connection, 'FeedProfileVersion', versionSchema),
    Change: modelOn<FeedProfileChangeDoc>(connection, 'FeedProfileChange', changeSchema),
  };
}

/** Why a profile text was refused: the message, and the field it is about (`columns`, `(profile)`, ...). */
export class ProfileInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * A profile text as an integrator sends it, checked before anything is parsed further: its
 * size, JSON, the number of columns, then the profile language (`profileSchema`). Pure.
 */
export function validateProfileText(text: string): FeedProfile {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PROFILE_BYTES)
    throw new ProfileInputError(`the profile is ${bytes} bytes; at most ${MAX_PROFILE_BYTES} are taken`, '(profile)');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProfileInputError(`the profile is not valid JSON (${(error as Error).message})`, '(profile)');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ProfileInputError('the profile must be a JSON object', '(profile)');
  const columns = (raw as Record<string, unknown>).columns;
  const count = Array.isArray(columns)
    ? columns.length
    : typeof columns === 'object' && columns !== null
      ? Object.keys(columns).length
      : 0;
  if (count > MAX_PROFILE_COLUMNS)
    throw new ProfileInputError(`the profile names ${count} columns; at most ${MAX_PROFILE_COLUMNS}`, 'columns');
  const result = profileSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 10);
    const where = (path: ReadonlyArray<string | number>) => path.join('.') || '(profile)';
    const more = result.error.issues.length - issues.length;
    throw new ProfileInputError(
      issues.map((i) => `${where(i.path).slice(0, 80)}: ${i.message.slice(0, 200)}`).join('; ') +
        (more > 0 ? `; and ${more} more` : ''),
      where(issues[0]!.path).slice(0, 80),
    );
  }
  return result.data;
}

const actorOf = (principal: Principal): ProfileActor => ({
  role: principal.role,
  subject: principal.subject,
  ...(principal.memberState ? { memberState: principal.memberState } : {}),
});

/** A profile name as the profile language allows it; anything else names no profile. */
const PROFILE_NAME = /^[a-z0-9-]{2,40}$/;

/** A name argument of a change: never echoed when it cannot be a profile's (it may be huge). */
function checkedName(name: string): string {
  if (!PROFILE_NAME.test(name)) throw badUserInput('name must be 2-40 lowercase letters, digits or -', 'name');
  return name;
}

const isDuplicateKey = (error: unknown) => (error as { code?: number }).code === 11000;

/** A profile change as every gateway instance hears it. */
export type ProfileChangeNotice = FeedProfileRef & { action: FeedProfileAction };

/** The profile service the resolvers (and the subgraph's start-up seed) use. */
export class ProfileStore {
  constructor(
    private readonly models: ProfileModels,
    /** Tells every gateway instance; a lost notice is made good by their periodic reload. */
    private readonly announce: (notice: ProfileChangeNotice) => Promise<void>,
  ) {}

  /** The latest version of each profile the principal may read (retired ones only when asked). */
  async list(principal: Principal | null, includeRetired: boolean): Promise<FeedProfileVersionDoc[]> {
    // Versions without their texts first (there may be many), then the text of the latest of each name.
    const heads = await this.models.Version.find({}, { profile: 0 })
      .sort({ name: 1, version: -1 })
      .lean<Array<Omit<FeedProfileVersionDoc, 'profile'>>>()
      .exec();
    const latest = new Map<string, Omit<FeedProfileVersionDoc, 'profile'>>();
    for (const head of heads) if (!latest.has(head.name)) latest.set(head.name, head);
    const wanted = [...latest.values()].filter(
      (v) => (includeRetired || v.status === 'ACTIVE') && mayReadProfile(principal, v.memberState),
    );
    if (wanted.length === 0) return [];
    const docs = await this.models.Version.find({ _id: { $in: wanted.map((v) => v._id) } })
      .lean<FeedProfileVersionDoc[]>()
      .exec();
    return docs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** One version (the latest when none is named), or null when it does not exist or is not the principal's. */
  async get(principal: Principal | null, name: string, version?: number | null): Promise<FeedProfileVersionDoc | null> {
    if (!PROFILE_NAME.test(name)) return null;
    const doc = await this.latestOrVersion(name, version);
    return doc && mayReadProfile(principal, doc.memberState) ? doc : null;
  }

  /** The audit trail, newest first: one profile's changes, or those of every profile the principal may read. */
  async changes(principal: Principal | null, name: string | null | undefined, first: number) {
    const limit = Math.min(Math.max(first, 1), 500);
    let filter: Record<string, unknown> = {};
    if (name) {
      if (!PROFILE_NAME.test(name)) return [];
      const latest = await this.latestOrVersion(name);
      if (!latest || !mayReadProfile(principal, latest.memberState)) return [];
      filter = { name };
    } else if (!mayManageProfile(principal, null)) {
      const heads = await this.models.Version.find({}, { name: 1, memberState: 1 })
        .lean<Array<Pick<FeedProfileVersionDoc, 'name' | 'memberState'>>>()
        .exec();
      filter = {
        name: { $in: [...new Set(heads.filter((h) => mayReadProfile(principal, h.memberState)).map((h) => h.name))] },
      };
    }
    return this.models.Change.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean<FeedProfileChangeDoc[]>().exec();
  }

  /** A new profile, version 1. Its name must be new (retired names included: give those a new version). */
  async create(principal: Principal | null, text: string, note: string | null, requestId: string | null) {
    const who = this.manager(principal, 'createFeedProfile');
    const profile = validated(text);
    if (!mayManageProfile(who, profile.memberState))
      throw forbidden(this.whoManages(profile.memberState), { argumentName: 'profile' });
    const doc = this.versionDoc(profile, 1, actorOf(who), checkedNote(note));
    try {
      await this.models.Version.collection.insertOne(doc as never);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      throw badUserInput(
        `A profile named "${profile.name}" exists; send a new version with newFeedProfileVersion`,
        'profile',
        { field: 'name' },
      );
    }
    await this.recorded(doc, 'CREATE', actorOf(who), requestId);
    return doc;
  }

  /** The next version of a profile (a retired one is active again with it). */
  async newVersion(
    principal: Principal | null,
    name: string,
    text: string,
    note: string | null,
    requestId: string | null,
  ) {
    const who = this.manager(principal, 'newFeedProfileVersion');
    const current = await this.latestOrVersion(checkedName(name));
    // A profile the principal may not read does not exist for it (as for cases).
    if (!current || !mayReadProfile(who, current.memberState)) throw notFound('Profile', name);
    if (!mayManageProfile(who, current.memberState)) throw forbidden(this.whoManages(current.memberState));
    const profile = validated(text);
    if (profile.name !== name)
      throw badUserInput(`The profile's name is "${profile.name}", not "${name}"`, 'profile', { field: 'name' });
    if (!mayManageProfile(who, profile.memberState))
      throw forbidden(this.whoManages(profile.memberState), { argumentName: 'profile' });
    const doc = this.versionDoc(profile, current.version + 1, actorOf(who), checkedNote(note));
    try {
      await this.models.Version.collection.insertOne(doc as never);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      throw conflict(`Version ${doc.version} of ${name} was just created by someone else; read it and try again`, {
        currentVersion: doc.version,
      });
    }
    await this.recorded(doc, 'NEW_VERSION', actorOf(who), requestId);
    return doc;
  }

  /** Retires every version of a profile: pushes naming it are refused until a new version is made. */
  async retire(principal: Principal | null, name: string, note: string | null, requestId: string | null) {
    const who = this.manager(principal, 'retireFeedProfile');
    const why = checkedNote(note);
    const current = await this.latestOrVersion(checkedName(name));
    if (!current || !mayReadProfile(who, current.memberState)) throw notFound('Profile', name);
    if (!mayManageProfile(who, current.memberState)) throw forbidden(this.whoManages(current.memberState));
    if (current.status === 'RETIRED') throw badUserInput(`Profile ${name} is already retired`, 'name');
    await this.models.Version.updateMany({ name }, { $set: { status: 'RETIRED' } }).exec();
    const retired = { ...current, status: 'RETIRED' as const };
    await this.recorded(retired, 'RETIRE', actorOf(who), requestId, why);
    return retired;
  }

  /**
   * The profiles folder as version 1 of each name no version exists of; a managed profile is
   * never overwritten (nor a retired one brought back). Several instances may seed at once.
   */
  async seed(profiles: ReadonlyMap<string, FeedProfile>, source: string): Promise<string[]> {
    const seeded: string[] = [];
    const actor: ProfileActor = { role: 'SYSTEM', subject: source };
    for (const profile of profiles.values()) {
      if (await this.models.Version.exists({ name: profile.name }).exec()) continue;
      const doc = this.versionDoc(profile, 1, actor, `seeded from ${source}`);
      try {
        await this.models.Version.collection.insertOne(doc as never);
      } catch (error) {
        if (isDuplicateKey(error)) continue;
        throw error;
      }
      await this.recorded(doc, 'SEED', actor, null);
      seeded.push(profile.name);
    }
    return seeded;
  }

  private async latestOrVersion(name: string, version?: number | null): Promise<FeedProfileVersionDoc | null> {
    if (version != null)
      return this.models.Version.findOne({ _id: `${name}:${version}` }).lean<FeedProfileVersionDoc>();
    return this.models.Version.findOne({ name }).sort({ version: -1 }).lean<FeedProfileVersionDoc>().exec();
  }

  private manager(principal: Principal | null, what: string): Principal {
    if (!principal) throw principalRequired(what);
    if (principal.role !== 'MEMBER_STATE' && !mayManageProfile(principal, null))
      throw forbidden('Profiles are managed by the support desk, administrators and Member State authorities');
    return principal;
  }

  private whoManages(memberState: string | null | undefined): string {
    return memberState
      ? `A profile of ${memberState}'s system is managed by ${memberState}, the support desk or an administrator`
      : 'A profile of no Member State (shared) is managed by the support desk or an administrator';
  }

  private versionDoc(
    profile: FeedProfile,
    version: number,
    actor: ProfileActor,
    note: string | null,
  ): FeedProfileVersionDoc {
    return {
      _id: `${profile.name}:${version}`,
      name: profile.name,
      version,
      memberState: profile.memberState ?? null,
      description: profile.description,
      profile: JSON.stringify(profile),
      status: 'ACTIVE',
      createdBy: actor,
      createdAt: new Date(),
      note,
    };
  }

  private async recorded(
    doc: FeedProfileVersionDoc,
    action: FeedProfileAction,
    actor: ProfileActor,
    requestId: string | null,
    note: string | null = doc.note,
  ): Promise<void> {
    await this.models.Change.collection.insertOne({
      name: doc.name,
      version: doc.version,
      action,
      actor,
      at: new Date(),
      note,
      requestId,
    });
    await this.announce({ name: doc.name, version: doc.version, action });
  }
}

function validated(text: string): FeedProfile {
  try {
    return validateProfileText(text);
  } catch (error) {
    if (error instanceof ProfileInputError)
      throw badUserInput(`Profile refused: ${error.message}`, 'profile', { field: error.field });
    throw error;
  }
}

function checkedNote(note: string | null | undefined): string | null {
  if (note == null || note.trim() === '') return null;
  if (note.length > MAX_NOTE_LENGTH) throw badUserInput(`note is longer than ${MAX_NOTE_LENGTH} characters`, 'note');
  return note;
}
