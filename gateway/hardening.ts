import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AuthError, unauthenticated, verifyBearerToken } from '../shared/auth.js';
import type { Config } from '../shared/config.js';
import { rateLimited, serviceUnavailableHttp } from '../shared/errors.js';
import type { GatewayContext } from './datasource.js';
import type { Guard } from './guards.js';
import { checked } from './limits.js';

/**
 * The principal of a request: from `Authorization: Bearer <JWT>`, or anonymous without one.
 * A token that is present but invalid or expired is refused (401), never downgraded.
 */
export async function principalContext(authorization: string | undefined, config: Config): Promise<GatewayContext> {
  if (authorization === undefined || authorization === '') return { principal: null };
  const match = /^Bearer ([A-Za-z0-9_.-]{10,4096})$/.exec(authorization);
  if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
  try {
    return { principal: await verifyBearerToken(match[1]!, config) };
  } catch (error) {
    if (error instanceof AuthError) throw unauthenticated(error.message);
    throw error;
  }
}

/** Who is asking: the bearer token's principal (see principalContext). */
export function authentication(config: Config): Guard {
  return {
    name: 'authentication',
    authenticate: async (authorization) => (await principalContext(authorization, config)).principal,
  };
}

/**
 * Limits on what one GraphQL operation may ask (graphql-armor's validation rules, run by
 * the gateway before any subgraph is called): depth, aliases, structural cost and
 * directives, and tokens (graphql-js's parser). Field suggestions ("did you mean ...") are
 * left out of errors in production.
 */
export function operationLimits(config: Config): Guard {
  const armor = new ApolloArmor({
    maxDepth: { n: config.GRAPHQL_MAX_DEPTH, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: config.GRAPHQL_MAX_ALIASES },
    costLimit: { maxCost: config.GRAPHQL_MAX_COST, ignoreIntrospection: true, flattenFragments: true },
    // Tokens are limited by graphql-js's own parser (parseOptions below): a parse error is a
    // 400, where graphql-armor's token plugin makes Apollo answer 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 20 },
    blockFieldSuggestion: { enabled: config.NODE_ENV === 'production' },
  });
  const { plugins, validationRules } = armor.protect();
  return {
    name: 'operation limits',
    parseOptions: { maxTokens: config.GRAPHQL_MAX_TOKENS },
    validationRules,
    // graphql-armor's typings name Apollo Server's CommonJS build; the plugin objects are the same.
    apolloPlugins: plugins as unknown as ApolloServerPlugin[],
  };
}

/**
 * Operations per minute per principal (per client address when anonymous), counted in
 * Redis so that every gateway instance shares the count. Over the limit: RATE_LIMITED
 * (over HTTP a 429 with Retry-After). RATE_LIMIT_PER_MINUTE=0 turns it off.
 */
export function rateLimit(config: Config, redis: Redis): Guard {
  if (config.RATE_LIMIT_PER_MINUTE === 0) return { name: 'rate limit' };
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${config.QUEUE_PREFIX}:rate`,
    points: config.RATE_LIMIT_PER_MINUTE,
    duration: 60,
  });
  return {
    name: 'rate limit',
    admit: async ({ principal, clientAddress }) => {
      const key = principal ? `${principal.role}:${principal.subject}` : `anonymous:${clientAddress ?? 'unknown'}`;
      try {
        // Bounded: with Redis away, commands wait for it; the caller is told to retry instead.
        await checked(limiter.consume(key));
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
          throw rateLimited(config.RATE_LIMIT_PER_MINUTE, seconds);
        }
        // Redis did not answer in time, or failed: a refusal the client can act on, not a closed socket.
        throw serviceUnavailableHttp('The rate limit could not be checked (Redis did not answer); try again shortly');
      }
    },
  };
}
