/**
 * Starts every process of the system (four subgraphs, the ingestion worker, the gateway),
 * waits until each is ready, and stops them all on Ctrl-C / SIGTERM. Used by `npm start`.
 */
import type { ChildProcess } from 'node:child_process';
import { loadConfigOrExit } from '../shared/config.js';
import { spawnEntry, systemProcesses, waitForReady } from './processes.js';

const config = loadConfigOrExit();
const children = new Map<string, ChildProcess>();
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  const exits = [...children.values()].map(
    (child) =>
      new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))),
  );
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.race([
    Promise.all(exits),
    new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS + 3_000)),
  ]);
  for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const processes = systemProcesses(config);
for (const { name, entry } of processes) {
  const child = spawnEntry(entry, process.env);
  children.set(name, child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`[start] ${name} exited (${signal ?? code}); stopping the system\n`);
    void stopAll(1);
  });
  if (name === 'finance') {
    // The gateway routes to the subgraphs: start it only when they are ready.
    await Promise.all(
      processes
        .slice(0, 4)
        .map((p) =>
          waitForReady(
            `http://127.0.0.1:${p.port}/health/ready`,
            60_000,
            () => children.get(p.name)?.exitCode === null,
          ),
        ),
    );
  }
}
try {
  await Promise.all(
    processes.map((p) =>
      waitForReady(`http://127.0.0.1:${p.port}/health/ready`, 60_000, () => children.get(p.name)?.exitCode === null),
    ),
  );
} catch (error) {
  process.stderr.write(`[start] ${(error as Error).message}\n`);
  await stopAll(1);
}
process.stderr.write(
  `
[start] AVRR graph ready. GraphQL: http://localhost:${config.GATEWAY_PORT}/graphql  (Ctrl-C stops everything)
[start] try: TOKEN=$(npm run -s token -- --role MEMBER_STATE --member-state BE)
[start]      curl -s http://localhost:${config.GATEWAY_PORT}/graphql -H "authorization: Bearer $TOKEN" ` +
    `-H 'content-type: application/json' \\
          -d '{"query":"{ cases(first: 3) { totalCount edges { node { caseReference countryOfOrigin { name } ` +
    `partner { name } entitlement { totalEur } } } } }"}'
`,
);
