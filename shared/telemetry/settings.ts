/**
 * Whether a process exports traces, read from the standard OpenTelemetry variables only
 * (README, Tracing). Off unless an OTLP endpoint or a traces exporter is named: a process
 * nobody configured starts no SDK and loads no instrumentation.
 */
export interface TracingSettings {
  enabled: boolean;
  /** Why tracing is on or off, for the start-up log line. */
  reason: string;
  /** The service name: OTEL_SERVICE_NAME, else the one the process's entry point implies. */
  serviceName: string;
}

/** The service name an entry point implies (`subgraphs/cases/main.ts` → `avrr-cases-subgraph`). */
export function serviceNameOfEntry(entry: string | undefined): string {
  const path = (entry ?? '').replaceAll('\\', '/');
  const subgraph = /subgraphs\/([a-z]+)\/main\.ts$/.exec(path);
  if (subgraph) return `avrr-${subgraph[1]}-subgraph`;
  if (/subgraphs\/cases\/worker\.ts$/.test(path)) return 'avrr-ingest-worker';
  if (/gateway\/main\.ts$/.test(path)) return 'avrr-gateway';
  return 'avrr';
}

export function tracingSettings(env: NodeJS.ProcessEnv, entry: string | undefined): TracingSettings {
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || serviceNameOfEntry(entry);
  const off = (reason: string) => ({ enabled: false, reason, serviceName });
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return off('OTEL_SDK_DISABLED is true');
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.includes('none')) return off('OTEL_TRACES_EXPORTER is none');
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint) return { enabled: true, reason: `OTLP endpoint ${endpoint}`, serviceName };
  if (exporters.length > 0)
    return { enabled: true, reason: `OTEL_TRACES_EXPORTER=${exporters.join(',')}`, serviceName };
  return off('no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER set');
}
