import { describe, expect, it } from 'vitest';
import { serviceNameOfEntry, tracingSettings } from '../../shared/telemetry/settings.js';
import { cleanCarrier, withTraceContext } from '../../shared/telemetry/propagation.js';
import { boundedLabel } from '../../shared/metrics.js';
import { traceOfEntry } from '../../shared/case-events/reader.js';

describe('tracingSettings: off unless the standard variables ask for it', () => {
  const cases: Array<[string, NodeJS.ProcessEnv, boolean]> = [
    ['nothing set', {}, false],
    ['an OTLP endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    ['a traces endpoint', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, true],
    ['an exporter named', { OTEL_TRACES_EXPORTER: 'otlp' }, true],
    ['exporter none wins over an endpoint', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'x' }, false],
    ['SDK disabled wins', { OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, false],
    ['blank endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: '   ' }, false],
  ];
  for (const [name, env, enabled] of cases) {
    it(name, () => expect(tracingSettings(env, 'gateway/main.ts').enabled).toBe(enabled));
  }

  it('names the service from the entry point unless OTEL_SERVICE_NAME says otherwise', () => {
    expect(serviceNameOfEntry('/app/subgraphs/finance/main.ts')).toBe('avrr-finance-subgraph');
    expect(serviceNameOfEntry('C:\\app\\subgraphs\\cases\\worker.ts')).toBe('avrr-ingest-worker');
    expect(serviceNameOfEntry('/app/gateway/main.ts')).toBe('avrr-gateway');
    expect(serviceNameOfEntry(undefined)).toBe('avrr');
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'mine' }, 'gateway/main.ts').serviceName).toBe('mine');
  });
});

describe('carried trace context is untrusted input', () => {
  it('keeps only the two W3C fields, each bounded', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(cleanCarrier({ traceparent, tracestate: 'a=b', evil: 'x', __proto__: { y: 1 } })).toEqual({
      traceparent,
      tracestate: 'a=b',
    });
    expect(cleanCarrier({ traceparent: 'x'.repeat(513) })).toEqual({});
    expect(cleanCarrier({ traceparent: 42 })).toEqual({});
    expect(cleanCarrier(null)).toEqual({});
    expect(cleanCarrier('00-abc')).toEqual({});
  });

  it('reads a stream entry trace field only where a field name stands, and only when small and JSON', () => {
    expect(traceOfEntry(['type', 'x', 'trace', '{"traceparent":"t"}'])).toEqual({ traceparent: 't' });
    expect(traceOfEntry(['trace', 'not json'])).toBeUndefined();
    expect(traceOfEntry(['type', 'trace', 'payload', '{}'])).toBeUndefined();
    expect(traceOfEntry(['trace', JSON.stringify({ traceparent: 'x'.repeat(2_000) })])).toBeUndefined();
    expect(traceOfEntry([])).toBeUndefined();
  });

  it('runs the work with a hostile carrier and keeps a synchronous handler synchronous', () => {
    let ran = false;
    const result = withTraceContext({ traceparent: '\u0000'.repeat(100) }, 'consume', {}, () => {
      ran = true;
      return 7;
    });
    expect(ran).toBe(true);
    expect(result).toBe(7);
    expect(() =>
      withTraceContext(undefined, 'consume', {}, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });
});

describe('boundedLabel keeps metric label values to a bounded, printable set', () => {
  it('maps odd, missing and overflowing values to other', () => {
    const seen = new Set<string>();
    expect(boundedLabel('CasesPage', seen, 2)).toBe('CasesPage');
    expect(boundedLabel('Stats', seen, 2)).toBe('Stats');
    expect(boundedLabel('Third', seen, 2)).toBe('other');
    expect(boundedLabel('CasesPage', seen, 2)).toBe('CasesPage');
    expect(boundedLabel(null, seen)).toBe('other');
    expect(boundedLabel('a b', seen)).toBe('other');
    expect(boundedLabel('x'.repeat(65), seen)).toBe('other');
    expect(boundedLabel('1abc', seen)).toBe('other');
  });
});
