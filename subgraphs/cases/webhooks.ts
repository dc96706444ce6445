import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Queue, Worker, type Job } from 'bullmq';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { Schema, Types, type Connection, type Model } from 'mongoose';
import { pino } from 'pino';
import type { Principal } from '../../shared/auth.js';
import { forbidden, requirePrincipal } from '../../shared/access.js';
import {
  CASE_EVENT_TYPES,
  CaseEventReader,
  matchesFilter,
  messageOf,
  redisCheckpoint,
  redisEventSource,
  type CaseEventBatch,
  type CaseEventMessage,
} from '../../shared/case-events/index.js';
import type { Logger } from '../../shared/logger.js';
import { checkPageSize } from '../../shared/pagination.js';

/**
 * Webhooks for partner systems that cannot hold a socket. A partner registers an HTTPS
 * endpoint and the event types it wants; the dispatcher (one at a time, in the worker
 * process) reads the case event stream and queues one delivery per event and matching
 * endpoint, for the partner's assigned cases only. Deliveries are signed (HMAC-SHA-256
 * with the endpoint's secret over `<timestamp>.<body>`), retried with exponential backoff
 * by BullMQ, and every attempt is logged. Payloads carry no personal data.
 */
export const WEBHOOK_QUEUE = 'webhook-delivery';
export const MAX_WEBHOOKS_PER_PARTNER = 10;

export interface WebhookDoc {
  _id: Types.ObjectId;
  partnerId: string;
  url: string;
  eventTypes: string[];
  /** The signing secret (shown once at registration). */
  secret: string;
  createdAt: Date;
  createdBy: string;
  deletedAt?: Date;
}

export interface DeliveryAttempt {
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDeliveryDoc {
  /** `<webhook>.<event>`: one delivery per endpoint and event, however often the dispatcher runs. */
  _id: string;
  webhookId: string;
  partnerId: string;
  eventId: string;
  eventType: string;
  caseId: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  payload: WebhookPayload;
  attempts: DeliveryAttempt[];
  createdAt: Date;
  deliveredAt: Date | null;
  /** Redeliveries asked for by the partner. */
  redeliveries: number;
}

/** The body a partner receives. */
export interface WebhookPayload {
  id: string;
  type: string;
  at: string;
  caseId: string;
  transition: string | null;
  milestone: string | null;
  status: string | null;
  countryOfOrigin: string;
  memberState: string;
}

const webhookSchema = new Schema<WebhookDoc>({}, { collection: 'webhooks', versionKey: false, strict: false });
webhookSchema.index({ partnerId: 1 }, { name: 'partnerId' });
const deliverySchema = new Schema<WebhookDeliveryDoc>({ _id: String }, { collection: 'webhookDeliveries', versionKey: false, strict: false });
deliverySchema.index({ partnerId: 1, status: 1, createdAt: -1 }, { name: 'partner_status_createdAt' });

export interface WebhookModels {
  Webhook: Model<WebhookDoc>;
  Delivery: Model<WebhookDeliveryDoc>;
}

export function webhookModels(connection: Connection): WebhookModels {
  return {
    Webhook: (connection.models.Webhook as Model<WebhookDoc> | undefined) ?? connection.model<WebhookDoc>('Webhook', webhookSchema),
    Delivery: (connection.models.WebhookDelivery as Model<WebhookDeliveryDoc> | undefined) ?? connection.model<WebhookDeliveryDoc>('WebhookDelivery', deliverySchema),
  };
}

/** `v1=<hex>`: HMAC-SHA-256 with the endpoint's secret of `<unix seconds>.<body>`. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: the signature matches and the timestamp is recent (replays refused). */
export function verifyWebhook(secret: string, signature: string, timestamp: number, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Where a webhook must never go: loopback, private, link-local (cloud metadata), shared, multicast, reserved, and IPv6 forms of them. */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], ['::ffff:0:0:0', 96], ['2002::', 16], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv6');

/** An address a webhook may not reach (IPv4-mapped IPv6 included). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return BLOCKED.check(address, 'ipv6') || (mapped !== null && BLOCKED.check(mapped[1]!, 'ipv4'));
  }
  return true;
}

export interface EndpointPolicy {
  /** Plain `http://` accepted (local development). */
  allowHttp: boolean;
  /** Private and loopback addresses reachable (local development and tests). */
  allowPrivate: boolean;
}

/** An endpoint must be HTTPS, with no credentials, and not a private or internal address (literal or name). */
export function checkWebhookUrl(raw: string, policy: EndpointPolicy): URL {
  const bad = (why: string) => new GraphQLError(`url ${why}`, { extensions: { code: 'BAD_USER_INPUT', argumentName: 'url' } });
  if (raw.length > 2_000) throw bad('must be at most 2000 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) throw bad(`must start with https:// (got ${url.protocol}//)`);
  if (url.username || url.password) throw bad('must not carry credentials; deliveries are signed instead');
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const internalName = host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local') || !host.includes('.') && isIP(host) === 0;
  if (!policy.allowPrivate && ((isIP(host) !== 0 && isBlockedAddress(host)) || internalName)) throw bad('must not point into a private network');
  return url;
}

/**
 * DNS resolution for deliveries: a name that resolves to a blocked address is refused at
 * connect time (so a name pointing inside, or re-pointed after registration, reaches nothing).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as LookupAddress[];
      const blocked = !allowPrivate && list.some((a) => isBlockedAddress(a.address));
      if (blocked || list.length === 0) return callback(Object.assign(new Error(`${hostname} resolves to a private or internal address`), { code: 'EBLOCKED' }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** One POST with Node's own client (so the address check runs at connect time); resolves with the status code. */
export function postWebhook(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, allowPrivate: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowPrivate && isIP(host) !== 0 && isBlockedAddress(host)) return reject(new Error(`${host} is a private or internal address`));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(allowPrivate), signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      response.resume(); // the body is not read: only the status counts
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', (error: Error) => reject(error.name === 'AbortError' || error.name === 'TimeoutError' ? new Error(`no answer within ${timeoutMs} ms`) : error));
    request.end(body);
  });
}

export function payloadOf(message: CaseEventMessage): WebhookPayload {
  return {
    id: message.id,
    type: message.type,
    at: message.at,
    caseId: message.caseId,
    transition: message.transition,
    milestone: message.milestone,
    status: message.status,
    countryOfOrigin: message.owner.countryOfOrigin,
    memberState: message.owner.memberState,
  };
}

function requirePartner(principal: Principal | null, what: string): Principal & { partnerId: string } {
  const who = requirePrincipal(principal, what);
  if (who.role !== 'PARTNER' || !who.partnerId) throw forbidden('Webhooks belong to reintegration partners');
  return who as Principal & { partnerId: string };
}

/** The GraphQL side: register, list, delete, list deliveries, redeliver. */
export class WebhookApi {
  private queue: Queue | undefined;

  constructor(
    private readonly models: WebhookModels,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: EndpointPolicy & { attempts: number; backoffMs: number },
  ) {}

  async register(principal: Principal | null, args: { url: string; eventTypes: string[] }): Promise<WebhookDoc> {
    const who = requirePartner(principal, 'registerWebhook');
    const url = checkWebhookUrl(args.url, this.options);
    if (args.eventTypes.length === 0) throw new GraphQLError('eventTypes must name at least one event type', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'eventTypes' } });
    const count = await this.models.Webhook.countDocuments({ partnerId: who.partnerId, deletedAt: { $exists: false } }).exec();
    if (count >= MAX_WEBHOOKS_PER_PARTNER) throw new GraphQLError(`A partner registers at most ${MAX_WEBHOOKS_PER_PARTNER} webhooks; delete one first`, { extensions: { code: 'BAD_USER_INPUT' } });
    const doc: WebhookDoc = {
      _id: new Types.ObjectId(),
      partnerId: who.partnerId,
      url: url.toString(),
      eventTypes: [...new Set(args.eventTypes)].filter((t) => (CASE_EVENT_TYPES as readonly string[]).includes(t)),
      secret: randomBytes(32).toString('base64url'),
      createdAt: new Date(),
      createdBy: who.subject,
    };
    await this.models.Webhook.collection.insertOne(doc);
    return doc;
  }

  async list(principal: Principal | null): Promise<WebhookDoc[]> {
    const who = requirePrincipal(principal, 'webhooks');
    if (who.role === 'ADMIN') return this.models.Webhook.find({ deletedAt: { $exists: false } }).lean<WebhookDoc[]>().exec();
    const partner = requirePartner(principal, 'webhooks');
    return this.models.Webhook.find({ partnerId: partner.partnerId, deletedAt: { $exists: false } }).lean<WebhookDoc[]>().exec();
  }

  async delete(principal: Principal | null, id: string): Promise<boolean> {
    const who = requirePartner(principal, 'deleteWebhook');
    if (!Types.ObjectId.isValid(id)) return false;
    const result = await this.models.Webhook.updateOne({ _id: new Types.ObjectId(id), partnerId: who.partnerId, deletedAt: { $exists: false } }, { $set: { deletedAt: new Date() } }).exec();
    return result.matchedCount === 1;
  }

  async deliveries(principal: Principal | null, args: { status?: string | null; first?: number | null }): Promise<WebhookDeliveryDoc[]> {
    const who = requirePartner(principal, 'webhookDeliveries');
    const filter: Record<string, string> = { partnerId: who.partnerId };
    if (args.status) filter.status = args.status;
    return this.models.Delivery.find(filter).sort({ createdAt: -1 }).limit(checkPageSize(args.first)).lean<WebhookDeliveryDoc[]>().exec();
  }

  async redeliver(principal: Principal | null, id: string): Promise<WebhookDeliveryDoc> {
    const who = requirePartner(principal, 'redeliverWebhook');
    const delivery = await this.models.Delivery.findOne({ _id: String(id), partnerId: who.partnerId }).lean<WebhookDeliveryDoc>().exec();
    if (!delivery) throw new GraphQLError(`Delivery ${String(id).slice(0, 80)} was not found`, { extensions: { code: 'NOT_FOUND' } });
    if (delivery.status === 'PENDING') throw new GraphQLError('The delivery is still being attempted', { extensions: { code: 'CONFLICT' } });
    await this.models.Delivery.updateOne({ _id: delivery._id }, { $set: { status: 'PENDING' }, $inc: { redeliveries: 1 } }).exec();
    this.queue ??= new Queue(WEBHOOK_QUEUE, { connection: this.redis, prefix: this.prefix });
    await this.queue.add('deliver', { deliveryId: delivery._id }, { jobId: `${delivery._id}.r${delivery.redeliveries + 1}`, attempts: this.options.attempts, backoff: { type: 'exponential', delay: this.options.backoffMs } });
    return { ...delivery, status: 'PENDING', redeliveries: delivery.redeliveries + 1 };
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }
}

/** The batch's events a partner may hear of: those told to subscribers, of cases with a partner. */
export function partnerMessages(batch: CaseEventBatch): CaseEventMessage[] {
  return batch.entries
    .map(({ id, event }) => messageOf(id, event))
    .filter((m): m is CaseEventMessage => m !== null && m.owner.partnerId !== null);
}

/**
 * One delivery per event and endpoint that asked for its type. A partner hears of its
 * assigned cases only. The id is `<endpoint>.<event>`, so planning a batch twice plans the
 * same deliveries.
 */
export function plannedDeliveries(
  messages: readonly CaseEventMessage[],
  hooks: readonly WebhookDoc[],
  now: Date,
): WebhookDeliveryDoc[] {
  const planned: WebhookDeliveryDoc[] = [];
  for (const message of messages) {
    const wanted = (h: WebhookDoc) =>
      h.partnerId === message.owner.partnerId && matchesFilter(message, { types: h.eventTypes });
    for (const hook of hooks.filter(wanted)) {
      planned.push({
        _id: `${hook._id.toHexString()}.${message.id}`,
        webhookId: hook._id.toHexString(),
        partnerId: hook.partnerId,
        eventId: message.id,
        eventType: message.type,
        caseId: message.caseId,
        status: 'PENDING',
        payload: payloadOf(message),
        attempts: [],
        createdAt: now,
        deliveredAt: null,
        redeliveries: 0,
      });
    }
  }
  return planned;
}

/**
 * Reads the event stream from its checkpoint (a Redis key; on the first run, the stream's
 * tail: webhooks start with what happens from now on) and queues the deliveries, one
 * instance at a time (a Redis lease, when `lease` is given). The checkpoint moves only
 * after the batch's deliveries and jobs exist; both are keyed by (endpoint, event), so a
 * batch done twice after a crash queues nothing twice.
 */
export class WebhookDispatcher {
  private readonly reader: CaseEventReader;
  private queued = 0;

  constructor(
    private readonly models: WebhookModels,
    /** Blocking reads and the checkpoint: a connection of its own. */
    redis: Redis,
    private readonly queue: Queue,
    prefix: string,
    private readonly options: { attempts: number; backoffMs: number; blockMs?: number; lease?: Redis; logger?: Logger },
  ) {
    this.reader = new CaseEventReader(
      redisEventSource(redis, prefix),
      (batch) => this.dispatch(batch),
      {
        name: 'webhook-dispatcher',
        checkpoint: redisCheckpoint(redis, `${prefix}:webhooks:checkpoint`),
        startAt: 'tail',
        batchSize: 200,
        blockMs: options.blockMs ?? 1_000,
        ...(options.lease ? { lease: { redis: options.lease, key: `${prefix}:lease:webhooks` } } : {}),
      },
      options.logger ?? pino({ level: 'silent' }),
    );
  }

  private async dispatch(batch: CaseEventBatch): Promise<void> {
    const messages = partnerMessages(batch);
    const partners = [...new Set(messages.map((m) => m.owner.partnerId!))];
    const live = { partnerId: { $in: partners }, deletedAt: { $exists: false } };
    const hooks = partners.length > 0 ? await this.models.Webhook.find(live).lean<WebhookDoc[]>().exec() : [];
    const backoff = { type: 'exponential', delay: this.options.backoffMs };
    const jobOptions = { attempts: this.options.attempts, backoff, removeOnComplete: 1_000, removeOnFail: 5_000 };
    for (const delivery of plannedDeliveries(messages, hooks, new Date())) {
      await this.models.Delivery.updateOne({ _id: delivery._id }, { $setOnInsert: delivery }, { upsert: true }).exec();
      await this.queue.add('deliver', { deliveryId: delivery._id }, { jobId: delivery._id, ...jobOptions });
      this.queued++;
    }
  }

  /** One batch; returns how many deliveries it queued. */
  async step(): Promise<number> {
    const before = this.queued;
    await this.reader.readOnce();
    return this.queued - before;
  }

  /** Dispatches until stopped, under the lease. */
  start(): void {
    this.reader.start();
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }
}

/** Sends one delivery; a non-2xx answer or a network error throws, so BullMQ retries with backoff. */
export async function deliver(models: WebhookModels, deliveryId: string, options: { timeoutMs: number; finalAttempt: boolean; allowPrivate: boolean }, now = () => new Date()): Promise<'DELIVERED' | 'GONE'> {
  const delivery = await models.Delivery.findOne({ _id: deliveryId }).lean<WebhookDeliveryDoc>().exec();
  const hook = delivery && Types.ObjectId.isValid(delivery.webhookId) ? await models.Webhook.findOne({ _id: new Types.ObjectId(delivery.webhookId) }).lean<WebhookDoc>().exec() : null;
  if (!delivery || !hook || hook.deletedAt) return 'GONE';
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(now().getTime() / 1000);
  const started = Date.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    statusCode = await postWebhook(
      new URL(hook.url),
      {
        'content-type': 'application/json',
        'user-agent': 'avrr-graph-webhooks/1',
        'avrr-delivery-id': delivery._id,
        'avrr-event-id': delivery.eventId,
        'avrr-timestamp': String(timestamp),
        'avrr-signature': signWebhook(hook.secret, timestamp, body),
      },
      body,
      options.timeoutMs,
      options.allowPrivate,
    );
    if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
  } catch (caught) {
    error = (caught as Error).message.slice(0, 200);
  }
  const attempt: DeliveryAttempt = { at: now(), statusCode, error, durationMs: Date.now() - started };
  const status = error === null ? 'DELIVERED' : options.finalAttempt ? 'FAILED' : 'PENDING';
  await models.Delivery.updateOne({ _id: delivery._id }, { $push: { attempts: attempt }, $set: { status, ...(status === 'DELIVERED' ? { deliveredAt: attempt.at } : {}) } }).exec();
  if (error !== null) throw new Error(`webhook ${delivery._id}: ${error}`);
  return 'DELIVERED';
}

export function createWebhookWorker(deps: { models: WebhookModels; redis: Redis; prefix: string; timeoutMs: number; allowPrivate: boolean; logger: Logger; concurrency?: number }): Worker<{ deliveryId: string }> {
  const worker = new Worker<{ deliveryId: string }>(
    WEBHOOK_QUEUE,
    async (job: Job<{ deliveryId: string }>) => deliver(deps.models, job.data.deliveryId, { timeoutMs: deps.timeoutMs, allowPrivate: deps.allowPrivate, finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) }),
    { connection: deps.redis, prefix: deps.prefix, concurrency: deps.concurrency ?? 8 },
  );
  worker.on('failed', (job, error) => deps.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'webhook delivery failed'));
  worker.on('error', (error) => deps.logger.error({ err: error }, 'webhook worker error'));
  return worker;
}
