import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Structured JSON logs, one line per event; `service` names the process. */
export function createLogger(service: string, config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({
    name: service,
    level: config.LOG_LEVEL,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Personal data must never reach logs through error objects or request bodies.
    redact: { paths: ['req.headers.authorization', '*.name', '*.dateOfBirth'], censor: '[redacted]' },
  });
}
