import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../shared/auth.js';
import type { Config } from '../shared/config.js';
import { rateLimited } from '../shared/errors.js';

/**
 * Limits on what one GraphQL operation may ask (graphql-armor's validation rules, run by
 * the gateway before any subgraph is called): depth, aliases, structural cost and
 * directives, and tokens (graphql-js's parser). Batched HTTP requests (a JSON array of operations) are refused. Field
 * suggestions ("did you mean ...") are left out of errors in production.
 */
export function operationLimits(config: Config): { plugins: ApolloServerPlugin[]; validationRules: ValidationRule[]; parseOptions: { maxTokens: number } } {
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
  // graphql-armor's typings name Apollo Server's CommonJS build; the plugin objects are the same.
  return { plugins: plugins as unknown as ApolloServerPlugin[], validationRules, parseOptions: { maxTokens: config.GRAPHQL_MAX_TOKENS } };
}

/**
 * Requests per minute per principal (per client address when anonymous), counted in Redis
 * so that every gateway instance shares the count. Over the limit: 429 RATE_LIMITED with
 * Retry-After.
 */
export function rateLimiter(config: Config, redis: Redis): ((req: IncomingMessage, principal: Principal | null) => Promise<void>) | undefined {
  if (config.RATE_LIMIT_PER_MINUTE === 0) return undefined;
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.QUEUE_PREFIX}:rate`, points: config.RATE_LIMIT_PER_MINUTE, duration: 60 });
  return async (req, principal) => {
    const key = principal ? `${principal.role}:${principal.subject}` : `anonymous:${req.socket.remoteAddress ?? 'unknown'}`;
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rateLimited(config.RATE_LIMIT_PER_MINUTE, seconds);
    }
  };
}
