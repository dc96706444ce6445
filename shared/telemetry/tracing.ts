import { NodeSDK } from '@opentelemetry/sdk-node';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { TracingSettings } from './settings.js';

/**
 * The packages the ESM loader hook intercepts (register.ts): only those an instrumentation
 * patches, so every other module loads exactly as it does without tracing.
 */
export const INSTRUMENTED_MODULES = ['ioredis', 'mongodb', 'graphql'];

/**
 * Starts the OpenTelemetry SDK: exporter, protocol, sampler and resource come from the
 * standard OTEL_* variables (README, Tracing). Health and metrics requests are not traced:
 * probes every few seconds would drown the traces that matter.
 */
export function startTracing(settings: TracingSettings): NodeSDK {
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(health\/|metrics)/.test(req.url ?? ''),
      }),
      new UndiciInstrumentation({
        ignoreRequestHook: (req) => /\/(health\/|metrics)/.test(req.path),
      }),
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new MongoDBInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  // Spans still buffered go out before the process ends (the entry points exit on SIGTERM).
  const flush = () => void sdk.shutdown().catch(() => undefined);
  process.once('beforeExit', flush);
  return sdk;
}
