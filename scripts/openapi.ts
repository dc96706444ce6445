/**
 * node --import tsx scripts/openapi.ts            writes docs/ingest-openapi.json, the push API's OpenAPI document
 * node --import tsx scripts/openapi.ts --check    fails when the committed copy is not what the gateway serves
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPENAPI_FILE, openApiText } from '../gateway/openapi/index.js';

const path = fileURLToPath(OPENAPI_FILE);
const text = openApiText();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    // A missing copy is stale too.
  }
  if (committed !== text) {
    process.stderr.write(`${path} is stale: run \`node --import tsx scripts/openapi.ts\` and commit the result\n`);
    process.exit(1);
  }
  process.stdout.write('the OpenAPI document is up to date\n');
} else {
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
