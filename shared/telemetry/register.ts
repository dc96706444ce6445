/**
 * Loaded before a process's entry point (`node --import tsx --import ./shared/telemetry/register.ts
 * <entry>`, scripts/processes.ts): the ESM loader hook that lets the instrumentations patch
 * ioredis, mongodb and graphql has to be in place before those modules load, which a first
 * import line in the entry point is too late for. Does nothing unless tracing is configured
 * (README, Tracing).
 */
import { register } from 'node:module';
import { tracingSettings } from './settings.js';

const settings = tracingSettings(process.env, process.argv[1]);
if (settings.enabled) {
  const { INSTRUMENTED_MODULES, startTracing } = await import('./tracing.js');
  register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED_MODULES } });
  startTracing(settings);
}
