import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Starts (or reuses) the real FerretDB and Redis through the project's own script, so
 * `npm test` needs nothing running beforehand. MONGO_URL / REDIS_URL, when set, win.
 */
export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/services.sh', import.meta.url));
  execFileSync('bash', [script, 'start'], { stdio: 'inherit' });
}
