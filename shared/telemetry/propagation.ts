import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/** W3C trace context (`traceparent`, `tracestate`) as carried in a queue job or a stream entry. */
export type TraceCarrier = Record<string, string>;

const tracer = trace.getTracer('avrr');

/**
 * The current trace context to carry across a queue or stream; undefined when there is
 * none (tracing off, or no span in progress), so nothing is added to the message.
 */
export function traceCarrier(): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** Only the two W3C fields, each bounded: a carrier read back from Redis is untrusted input. */
export function cleanCarrier(value: unknown): TraceCarrier {
  if (typeof value !== 'object' || value === null) return {};
  const carrier: TraceCarrier = {};
  for (const key of ['traceparent', 'tracestate'] as const) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === 'string' && field.length <= 512) carrier[key] = field;
  }
  return carrier;
}

/**
 * Runs `work` in a consumer span whose parent is the carried context (a queue job's, a
 * stream entry's), so the trace continues where the message was sent. A synchronous `work`
 * stays synchronous (a caller may rely on finishing in the same tick); a promise ends the
 * span when it settles. With tracing off the span is a no-op and `work` just runs.
 */
export function withTraceContext<T>(carried: unknown, name: string, attributes: Attributes, work: () => T): T {
  const parent = propagation.extract(context.active(), cleanCarrier(carried));
  return tracer.startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, (span) => {
    const fail = (error: unknown) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    };
    let result: T;
    try {
      result = work();
    } catch (error) {
      fail(error);
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      result.then(
        () => span.end(),
        (error: unknown) => {
          fail(error);
          span.end();
        },
      );
    } else {
      span.end();
    }
    return result;
  });
}
