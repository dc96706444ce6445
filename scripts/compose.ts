/**
 * npm run compose          writes gateway/supergraph.graphql from the subgraphs' SDL, and docs/schema.graphql,
 *                          the API clients see (no federation internals, with the subscriptions)
 * npm run compose -- --check   fails when a committed file is stale or composition fails
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeGraph, CompositionFailedError, PUBLISHED_SCHEMA_FILE, SUPERGRAPH_FILE } from '../gateway/compose.js';
import { publishedSdl } from '../gateway/web/index.js';

const check = process.argv.includes('--check');
try {
  const composed = composeGraph();
  const outputs: Array<[URL, string, string]> = [
    [SUPERGRAPH_FILE, composed.supergraphSdl, 'supergraph'],
    [PUBLISHED_SCHEMA_FILE, publishedSdl(composed.apiSchema), 'published schema'],
  ];
  let stale = false;
  for (const [file, text, what] of outputs) {
    const path = fileURLToPath(file);
    if (check) {
      let committed = '';
      try {
        committed = readFileSync(path, 'utf8');
      } catch {
        // missing file is stale too
      }
      if (committed !== text) {
        process.stderr.write(`${path} is stale: run \`npm run compose\` and commit the result\n`);
        stale = true;
      } else process.stdout.write(`${what} is up to date\n`);
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  if (stale) process.exit(1);
} catch (error) {
  if (error instanceof CompositionFailedError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
