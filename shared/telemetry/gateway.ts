import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { trace } from '@opentelemetry/api';
import { withTimeout, type ReadinessCheck } from '../http.js';
import { boundedLabel, type GatewayMetrics } from '../metrics.js';

/** The span attribute every traced request carries its request id in (README, Tracing). */
export const REQUEST_ID_ATTRIBUTE = 'avrr.request_id';

/** Puts the request id on the current span (the incoming HTTP request's), when tracing is on. */
export function tagRequestId(requestId: string | null): void {
  if (requestId) trace.getActiveSpan()?.setAttribute(REQUEST_ID_ATTRIBUTE, requestId);
}

/**
 * Times every GraphQL operation at the gateway and counts its errors by code. Operation
 * names come from clients: kept to GraphQL names and at most 200 distinct ones, the rest
 * counted as `other`, so no client can grow the metrics without bound. Only signed-in callers
 * name their operations (`named`): anonymous ones are counted as `anonymous`, or anyone could
 * spend the 200 names right after a restart and leave every real operation under `other`.
 */
export function operationMetricsPlugin<TContext extends BaseContext>(
  metrics: GatewayMetrics,
  named: (context: TContext) => boolean = () => true,
): ApolloServerPlugin<TContext> {
  const names = new Set<string>();
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      let operation = 'other';
      let type = 'unknown';
      let failed = false;
      return {
        async didResolveOperation(context) {
          operation = named(context.contextValue) ? boundedLabel(context.operationName, names) : 'anonymous';
          type = context.operation?.operation ?? 'unknown';
        },
        async didEncounterErrors(context) {
          failed = true;
          for (const error of context.errors) {
            const code = error.extensions?.code;
            metrics.operationErrors.inc({
              operation,
              code: typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : 'UNKNOWN',
            });
          }
        },
        async willSendResponse() {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.operationSeconds.observe({ operation, type, result: failed ? 'error' : 'ok' }, seconds);
        },
      };
    },
  };
}

/**
 * A subgraph data source that times each call and counts a call failed when it threw or its
 * answer carries errors (an unavailable or timed-out subgraph answers with errors).
 */
export function timedDataSource(name: string, source: GraphQLDataSource, metrics: GatewayMetrics): GraphQLDataSource {
  return {
    async process(options: GraphQLDataSourceProcessOptions) {
      const end = metrics.subgraphSeconds.startTimer({ subgraph: name });
      try {
        const response = await source.process(options);
        end({ result: response.errors?.length ? 'error' : 'ok' });
        return response;
      } catch (error) {
        end({ result: 'error' });
        throw error;
      }
    },
  };
}

/**
 * The gateway's readiness of one subgraph: that subgraph's own /health/ready (its store
 * answering a read) within the deadline. A failure names the subgraph and its reason.
 */
export function subgraphReadiness(
  name: string,
  graphqlUrl: string,
  metrics: GatewayMetrics,
  ms: number,
): ReadinessCheck {
  const url = new URL('/health/ready', graphqlUrl).toString();
  return async () => {
    try {
      const response = await withTimeout(
        fetch(url, { signal: AbortSignal.timeout(ms) }),
        ms,
        `no answer within ${ms} ms`,
      );
      const body = (await response.text()).slice(0, 500);
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${body}`);
      metrics.subgraphUp.set({ subgraph: name }, 1);
    } catch (error) {
      metrics.subgraphUp.set({ subgraph: name }, 0);
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
      throw new Error(`${name} subgraph not ready at ${url}: ${reason}`);
    }
  };
}
