export { tracingSettings, serviceNameOfEntry, type TracingSettings } from './settings.js';
export {
  REQUEST_ID_ATTRIBUTE,
  operationMetricsPlugin,
  subgraphReadiness,
  tagRequestId,
  timedDataSource,
} from './gateway.js';
export { traceCarrier, withTraceContext, type TraceCarrier } from './propagation.js';
