import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Principal } from '../../shared/auth.js';
import { bumpCacheTags } from '../../shared/cache-tags.js';
import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { InflightDedup } from './inflight.js';
import {
  analyseFetch,
  cacheKey,
  inflightKey,
  mutationTags,
  personalFieldIndex,
  type FetchAnalysis,
  type PersonalFieldIndex,
  type KeyInput,
} from './policy.js';
import { CacheStore } from './store.js';

export { InflightDedup } from './inflight.js';
export { analyseFetch, cacheKey, inflightKey, personalFieldIndex, rightsClass } from './policy.js';
export { CacheStore } from './store.js';

/** What of the gateway's context a subgraph fetch's key reads. */
export interface FetchCaller {
  principal: Principal | null;
  requestId?: string;
  requestIdSource?: string;
  signal?: AbortSignal;
}

export interface SubgraphFetch {
  query: string;
  variables?: Record<string, unknown>;
}

/** Variables larger than this (as JSON) are never cached (still merged while in flight). */
export const MAX_CACHED_VARIABLES_CHARS = 64 * 1024;
/** Fetch documents analysed and remembered (the plan cache holds a bounded number of them). */
const MAX_ANALYSES = 2_000;
/** Distinct calls merged at once; past it calls run on their own. */
const MAX_INFLIGHT_KEYS = 10_000;

export function gatewayCacheMetrics(registry: Registry) {
  return {
    lookups: new Counter({
      name: 'avrr_gateway_cache_lookups_total',
      help: 'Shared cache lookups of cacheable subgraph fetches by subgraph and result (hit, miss, error)',
      labelNames: ['subgraph', 'result'],
      registers: [registry],
    }),
    writes: new Counter({
      name: 'avrr_gateway_cache_writes_total',
      help: 'Answers offered to the shared cache by subgraph and result (stored, refused: too big or key budget spent)',
      labelNames: ['subgraph', 'result'],
      registers: [registry],
    }),
    merged: new Counter({
      name: 'avrr_gateway_dedup_merged_total',
      help: 'Subgraph calls not made because an identical one (same rights, query, variables) was in flight',
      labelNames: ['subgraph'],
      registers: [registry],
    }),
  };
}
export type GatewayCacheMetrics = ReturnType<typeof gatewayCacheMetrics>;

export type GatewayCacheConfig = Pick<
  Config,
  | 'QUEUE_PREFIX'
  | 'GATEWAY_CACHE'
  | 'GATEWAY_DEDUP'
  | 'GATEWAY_CACHE_TTL_SECONDS'
  | 'GATEWAY_CACHE_MAX_ENTRY_BYTES'
  | 'GATEWAY_CACHE_MAX_KEYS'
  | 'GATEWAY_CACHE_TIMEOUT_MS'
>;

export interface GatewayCacheOptions {
  config: GatewayCacheConfig;
  supergraphSdl: string;
  /** The cache's own connection (commands to a Redis that is away queue, so bumps arrive later). */
  redis?: Redis;
  metrics?: GatewayCacheMetrics;
  logger?: Pick<Logger, 'warn'>;
}

type Response = GatewayGraphQLResponse;

/**
 * In-flight deduplication and the shared Redis cache around the gateway's subgraph calls.
 * `fetch` is given the real call (`run`, under the signal it must honour) and decides, from
 * the fetch document, whether to merge, serve from the cache, or just call.
 */
export class GatewayCache {
  private readonly personal: PersonalFieldIndex;
  private readonly analyses = new Map<string, FetchAnalysis>();
  private readonly serialized = new WeakMap<Response, string>();
  private readonly dedup: InflightDedup<Response>;
  private readonly store: CacheStore | null;
  private lastWarning = 0;

  constructor(private readonly options: GatewayCacheOptions) {
    this.personal = personalFieldIndex(options.supergraphSdl);
    this.dedup = new InflightDedup<Response>((response) => JSON.parse(this.serialize(response)) as Response, {
      maxKeys: MAX_INFLIGHT_KEYS,
      onMerged: (waiters, subgraph) => options.metrics?.merged.inc({ subgraph }, waiters),
    });
    const { config } = options;
    this.store =
      config.GATEWAY_CACHE && options.redis
        ? new CacheStore(options.redis, {
            prefix: config.QUEUE_PREFIX,
            ttlSeconds: config.GATEWAY_CACHE_TTL_SECONDS,
            maxEntryBytes: config.GATEWAY_CACHE_MAX_ENTRY_BYTES,
            maxKeys: config.GATEWAY_CACHE_MAX_KEYS,
            timeoutMs: config.GATEWAY_CACHE_TIMEOUT_MS,
          })
        : null;
  }

  /** How a fetch document of `subgraph` is treated (remembered per document). */
  analyse(subgraph: string, query: string): FetchAnalysis {
    const memo = `${subgraph}\n${query}`;
    let analysis = this.analyses.get(memo);
    if (!analysis) {
      analysis = analyseFetch(subgraph, query, this.personal);
      if (this.analyses.size >= MAX_ANALYSES) this.analyses.clear();
      this.analyses.set(memo, analysis);
    }
    return analysis;
  }

  async fetch(
    subgraph: string,
    request: SubgraphFetch,
    caller: FetchCaller,
    run: (signal: AbortSignal | undefined) => Promise<Response>,
  ): Promise<Response> {
    const analysis = this.analyse(subgraph, request.query);
    if (analysis.kind === 'mutation') {
      try {
        return await run(caller.signal);
      } finally {
        // After the subgraph answered (its write is stored): what it may have changed is stale, both
        // the calls of that subgraph now in flight (a read starting now must not join them) and the cache.
        this.dedup.closeToNewcomers(subgraph);
        await this.bump(subgraph);
      }
    }
    if (analysis.kind !== 'query' || !this.options.config.GATEWAY_DEDUP) {
      return this.throughCache(subgraph, request, caller, analysis, run, caller.signal);
    }
    const input = this.keyInput(subgraph, request, caller, analysis);
    return this.dedup.run(
      inflightKey(input),
      caller.signal,
      (shared) => this.throughCache(subgraph, request, caller, analysis, run, shared),
      subgraph,
    );
  }

  private keyInput(subgraph: string, request: SubgraphFetch, caller: FetchCaller, analysis: FetchAnalysis): KeyInput {
    return {
      subgraph,
      query: request.query,
      variables: request.variables ?? null,
      principal: caller.principal,
      requestId: caller.requestId,
      requestIdSource: caller.requestIdSource,
      analysis,
    };
  }

  private async throughCache(
    subgraph: string,
    request: SubgraphFetch,
    caller: FetchCaller,
    analysis: FetchAnalysis,
    run: (signal: AbortSignal | undefined) => Promise<Response>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const store = this.store;
    if (!store || analysis.kind !== 'query' || !analysis.tags || analysis.personal) return run(signal);
    const variables = JSON.stringify(request.variables ?? null);
    if (variables.length > MAX_CACHED_VARIABLES_CHARS) return run(signal);
    const key = cacheKey(this.keyInput(subgraph, request, caller, analysis));
    let generations: string | null = null;
    try {
      const found = await store.lookup(key, analysis.tags);
      if (found.hit) {
        this.options.metrics?.lookups.inc({ subgraph, result: 'hit' });
        const cached = JSON.parse(found.body) as Response;
        this.serialized.set(cached, found.body); // merged waiters copy from the stored text
        return cached;
      }
      generations = found.generations;
      this.options.metrics?.lookups.inc({ subgraph, result: 'miss' });
    } catch (error) {
      this.options.metrics?.lookups.inc({ subgraph, result: 'error' });
      this.warn(error);
    }
    const response = await run(signal);
    if (generations !== null && !response.errors?.length && response.data) {
      const body = this.serialize(response);
      store.store(key, generations, body).then(
        (stored) => this.options.metrics?.writes.inc({ subgraph, result: stored ? 'stored' : 'refused' }),
        (error: unknown) => {
          this.options.metrics?.writes.inc({ subgraph, result: 'error' });
          this.warn(error);
        },
      );
    }
    return response;
  }

  /** The answer as JSON, once per answer object (shared by every copy and the cache). */
  private serialize(response: Response): string {
    let text = this.serialized.get(response);
    if (text === undefined) {
      text = JSON.stringify({ data: response.data, errors: response.errors, extensions: response.extensions });
      this.serialized.set(response, text);
    }
    return text;
  }

  private async bump(subgraph: string): Promise<void> {
    const redis = this.options.redis;
    if (!redis) return;
    // Queued while Redis is away (delivered when it is back); the mutation's answer waits a moment at most.
    const bumped = bumpCacheTags(redis, this.options.config.QUEUE_PREFIX, mutationTags(subgraph), (error) =>
      this.warn(error),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      bumped,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.config.GATEWAY_CACHE_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** At most one warning a minute: a Redis outage means no cache, not a log flood. */
  private warn(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'gateway cache skipped');
  }
}
