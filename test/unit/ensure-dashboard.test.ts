import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../../scripts/ensure-dashboard.sh', import.meta.url).pathname;

/**
 * A checkout holding only what scripts/ensure-dashboard.sh looks at: its package.json (with a
 * `dashboard:build` that counts its runs, or none), dashboard sources and docs/schema.graphql.
 */
function checkout(withBuildScript: boolean, buildSucceeds = true): string {
  const root = mkdtempSync(join(tmpdir(), 'avrr-ensure-dashboard-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(SCRIPT, join(root, 'scripts/ensure-dashboard.sh'));
  mkdirSync(join(root, 'dashboard/src'), { recursive: true });
  mkdirSync(join(root, 'docs'));
  writeFileSync(join(root, 'dashboard/src/main.tsx'), 'export {};');
  writeFileSync(join(root, 'docs/schema.graphql'), 'type Query { a: Int }');
  const build = buildSucceeds
    ? "node -e \"const f=require('fs');f.mkdirSync('dashboard/dist',{recursive:true});" +
      "f.appendFileSync('builds.log','x');f.writeFileSync('dashboard/dist/index.html','built')\""
    : 'exit 3';
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'x', private: true, scripts: withBuildScript ? { 'dashboard:build': build } : {} }),
  );
  return root;
}

const run = (root: string) =>
  execFileSync('bash', [join(root, 'scripts/ensure-dashboard.sh')], { encoding: 'utf8', stdio: 'pipe' });
const builds = (root: string) =>
  existsSync(join(root, 'builds.log')) ? readFileSync(join(root, 'builds.log'), 'utf8').length : 0;
/** Sets a file's times `seconds` from now. */
const age = (path: string, seconds: number) => {
  const at = new Date(Date.now() + seconds * 1000);
  utimesSync(path, at, at);
};

describe('npm start builds the dashboard when it must (scripts/ensure-dashboard.sh)', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('builds a missing build, keeps a current one, rebuilds after a source or the schema changed', () => {
    const root = checkout(true);
    roots.push(root);
    run(root);
    expect(builds(root)).toBe(1);
    age(join(root, 'dashboard/src/main.tsx'), -60);
    age(join(root, 'docs/schema.graphql'), -60);
    run(root);
    expect(builds(root)).toBe(1);
    age(join(root, 'dashboard/src/main.tsx'), 60);
    run(root);
    expect(builds(root)).toBe(2);
    age(join(root, 'dashboard/src/main.tsx'), -60);
    age(join(root, 'docs/schema.graphql'), 60);
    run(root);
    expect(builds(root)).toBe(3);
  });

  it('without a dashboard:build script, or when the build fails, npm start still goes on', () => {
    const none = checkout(false);
    const failing = checkout(true, false);
    roots.push(none, failing);
    expect(() => run(none)).not.toThrow();
    expect(existsSync(join(none, 'dashboard/dist'))).toBe(false);
    expect(() => run(failing)).not.toThrow();
    expect(existsSync(join(failing, 'dashboard/dist/index.html'))).toBe(false);
  });
});
