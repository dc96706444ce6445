/**
 * npm run retention -- [--dry-run] [--json]
 * Runs the retention job once (the worker runs it every RETENTION_INTERVAL_MS). With
 * --dry-run nothing changes: it prints what a real run would purge now and what is listed.
 * A real run purges only cases a report listed RETENTION_NOTICE_HOURS before.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../shared/config.js';
import { connectDatabase, ensureIndexes } from '../shared/mongo.js';
import { createRedis } from '../shared/redis.js';
import { dataProtectionDeps, runRetention } from '../subgraphs/cases/data-protection/retention.js';
import { retentionSettings } from '../subgraphs/cases/data-protection/retention-loop.js';

const USAGE = 'usage: npm run retention -- [--dry-run] [--json]';
let options: { 'dry-run'?: boolean; json?: boolean; help?: boolean };
try {
  options = parseArgs({
    options: { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    strict: true,
  }).values;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(64);
}
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const config = loadConfigOrExit();
const connection = await connectDatabase(config, 'cases');
const redis = createRedis(config, 'retention-cli');
try {
  await ensureIndexes(connection);
  const run = await runRetention(
    dataProtectionDeps(connection, redis, config.QUEUE_PREFIX),
    retentionSettings(config),
    { dryRun: options['dry-run'] === true },
  );
  if (options.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else {
    process.stdout.write(
      `${run.dryRun ? 'dry run: ' : ''}cases ended before ${run.cutoff.toISOString()} (${run.retentionDays} ` +
        `days) still holding personal data: ${run.due}\n` +
        `erasures interrupted midway, ${run.dryRun ? 'a real run finishes' : 'finished or retried'}: ` +
        `${run.unfinished}\n` +
        `${run.dryRun ? 'a real run now would purge' : 'purged'}: ${run.purged}; failed: ${run.failed}; ` +
        `listed, inside the ${config.RETENTION_NOTICE_HOURS} h notice: ${run.awaitingNotice}\n`,
    );
    for (const c of run.cases)
      process.stdout.write(
        `  ${c.action.padEnd(11)} ${c.caseId} ${c.memberState} ${c.status} ended ` +
          `${c.endedAt.toISOString().slice(0, 10)} listed ` +
          `${c.firstListedAt.toISOString()}${c.error ? ` error: ${c.error}` : ''}\n`,
      );
  }
} finally {
  redis.disconnect();
  await connection.close();
}
