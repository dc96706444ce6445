/**
 * Starts every process of the system (four subgraphs, the ingestion worker, the gateway),
 * waits until each is ready, restarts any that dies (scripts/supervisor, with backoff; after
 * repeated fast crashes it stops everything), and stops them all on Ctrl-C / SIGTERM.
 * Used by `npm start`.
 */
import { loadConfigOrExit } from '../shared/config.js';
import { spawnEntry, systemProcesses, waitForReady } from './processes.js';
import { createSupervisor, stopOnSignals } from './supervisor/index.js';

const config = loadConfigOrExit();
const say = (line: string): boolean => process.stderr.write(`[start] ${line}\n`);

const supervisor = createSupervisor({
  log: say,
  stopGraceMs: config.SHUTDOWN_TIMEOUT_MS + 3_000,
  onGiveUp: () => void supervisor.stop().then(() => process.exit(1)),
});
stopOnSignals(supervisor);

const processes = systemProcesses(config);
// A process that crashes while starting is restarted like any other: readiness keeps polling
// until the supervisor gives up or the deadline passes.
const ready = (port: number): Promise<void> =>
  waitForReady(`http://127.0.0.1:${port}/health/ready`, 60_000, () => !supervisor.halted());

try {
  for (const { name, entry } of processes) {
    supervisor.add({ name, start: () => spawnEntry(entry, process.env) });
    if (name === 'finance') {
      // The gateway routes to the subgraphs: start it only when they are ready.
      await Promise.all(processes.slice(0, 4).map((p) => ready(p.port)));
    }
  }
  await Promise.all(processes.map((p) => ready(p.port)));
} catch (error) {
  // Halted: a signal or a give-up is already stopping the system, and exits with its own code.
  if (!supervisor.halted()) say((error as Error).message);
  await supervisor.stop();
  process.exit(1);
}
process.stderr.write(
  `
[start] AVRR graph ready. GraphQL: http://localhost:${config.GATEWAY_PORT}/graphql  (Ctrl-C stops everything)
[start] dashboard: http://localhost:${config.GATEWAY_PORT}/dashboard/` +
    (config.NODE_ENV === 'production' ? '' : `   GraphQL IDE: http://localhost:${config.GATEWAY_PORT}/ide`) +
    `
[start] try: TOKEN=$(npm run -s token -- --role MEMBER_STATE --member-state BE)
[start]      curl -s http://localhost:${config.GATEWAY_PORT}/graphql -H "authorization: Bearer $TOKEN" ` +
    `-H 'content-type: application/json' \\
          -d '{"query":"{ cases(first: 3) { totalCount edges { node { caseReference countryOfOrigin { name } ` +
    `partner { name } entitlement { totalEur } } } } }"}'
`,
);
