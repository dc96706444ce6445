/**
 * npm run compose          writes gateway/supergraph.graphql from the subgraphs' SDL
 * npm run compose -- --check   fails when the committed file is stale or composition fails
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeSupergraph, CompositionFailedError, SUPERGRAPH_FILE } from '../gateway/compose.js';

const check = process.argv.includes('--check');
try {
  const composed = composeSupergraph();
  const path = fileURLToPath(SUPERGRAPH_FILE);
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(path, 'utf8');
    } catch {
      // missing file is stale too
    }
    if (committed !== composed) {
      process.stderr.write(`${path} is stale: run \`npm run compose\` and commit the result\n`);
      process.exit(1);
    }
    process.stdout.write('supergraph is up to date\n');
  } else {
    writeFileSync(path, composed);
    process.stdout.write(`wrote ${path}\n`);
  }
} catch (error) {
  if (error instanceof CompositionFailedError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
