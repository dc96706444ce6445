import { loadConfigOrExit, type Config } from './config.js';
import { exitOnSignals, type RunningService } from './http.js';
import { createLogger, type Logger } from './logger.js';

/**
 * Gives each part of a process its logger, named after that part (`service` in every log
 * line). Entry points log JSON through createLogger; tests hand every part one silent logger.
 */
export type LoggerFor = (service: string) => Logger;

/** A loop or worker a process runs beside its server; stopped once the server took its last request. */
export interface Stoppable {
  stop: () => Promise<void>;
}

/** Stops each handle in turn, in the order given, waiting for one before the next (a failure stops the rest). */
export async function stopInOrder(handles: ReadonlyArray<Stoppable>): Promise<void> {
  for (const handle of handles) await handle.stop();
}

/**
 * The thin part every entry point shares: the validated config from the environment (exit
 * 78 when it is not valid), JSON logs, the composition root started, a graceful shutdown on
 * SIGTERM/SIGINT, and exit 1 when start-up fails. Tests start the composition roots themselves.
 */
export async function runProcess(
  service: string,
  failure: string,
  start: (config: Config, loggerFor: LoggerFor) => Promise<Pick<RunningService, 'shutdown'>>,
): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(service, config);
  const loggerFor: LoggerFor = (name) => (name === service ? logger : createLogger(name, config));
  try {
    const running = await start(config, loggerFor);
    exitOnSignals(running, logger, config.SHUTDOWN_TIMEOUT_MS);
  } catch (error) {
    logger.fatal({ err: error }, failure);
    process.exit(1);
  }
}
