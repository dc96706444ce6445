import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Offline: only the lockfile and package.json decide, not what the registry holds today.
const NPM_FLAGS = ['--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--loglevel=error'];

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  });

function npm(cwd: string, ...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync('npm', [...args, ...NPM_FLAGS], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

/**
 * A fresh clone of the working tree as it is (committed or not, so the test checks the change
 * being made): every tracked file copied into a new repository with one commit. No
 * node_modules: nothing here installs packages (a real `npm ci` takes a minute).
 */
describe('a fresh clone', () => {
  let clone: string;

  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'avrr-clone-'));
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
    for (const file of files.filter((f) => f !== '' && existsSync(join(ROOT, f)))) {
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(clone, file));
    }
    git(clone, 'init', '-q');
    git(clone, 'add', '-A');
    git(clone, 'commit', '-q', '-m', 'fresh clone');
  });
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  const status = () => git(clone, 'status', '--porcelain', '--untracked-files=all');

  it('npm ci accepts the committed lockfile, for development and for the Dockerfile (--omit=dev)', () => {
    const all = npm(clone, 'ci', '--dry-run');
    expect(all.stderr).toBe('');
    expect(all.status).toBe(0);
    const production = npm(clone, 'ci', '--dry-run', '--omit=dev');
    expect(production.stderr).toBe('');
    expect(production.status).toBe(0);
    expect(existsSync(join(clone, 'node_modules'))).toBe(false);
    expect(status()).toBe('');
  });

  it('npm install leaves the lockfile byte for byte as committed: it already holds every platform', () => {
    const result = npm(clone, 'install', '--package-lock-only');
    expect(result.status, result.stderr).toBe(0);
    expect(status()).toBe('');
  });

  it('npm ci refuses a lockfile missing other platforms\u2019 optional packages (the check above can fail)', () => {
    const lockPath = join(clone, 'package-lock.json');
    const committed = readFileSync(lockPath, 'utf8');
    const lock = JSON.parse(committed) as { packages: Record<string, unknown> };
    const otherPlatforms = Object.keys(lock.packages).filter((k) => /\/@(esbuild|rollup)\/.*(darwin|win32)/.test(k));
    expect(otherPlatforms.length).toBeGreaterThan(4);
    for (const key of otherPlatforms) delete lock.packages[key];
    writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
    try {
      const result = npm(clone, 'ci', '--dry-run');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('package.json and package-lock.json or npm-shrinkwrap.json are in sync');
      expect(result.stderr).toMatch(/Missing: @(esbuild|rollup)\/[a-z0-9-]*(darwin|win32)/);
    } finally {
      writeFileSync(lockPath, committed);
    }
    expect(status()).toBe('');
  });

  it('what npm start and npm test write into the checkout is ignored by git', () => {
    // scripts/services.sh keeps FerretDB, Redis, their data and logs under .services/;
    // npm ci fills node_modules/ (vitest's cache lives there too); coverage and bench runs
    // write coverage/ and bench/results/; npm writes npm-debug.log on failures.
    const written = [
      '.services/bin/ferretdb',
      '.services/build/ferretdb-src/go.mod',
      '.services/ferretdb-data/avrr.sqlite',
      '.services/ferretdb.pid',
      '.services/redis.log',
      'node_modules/.package-lock.json',
      'node_modules/.vite/vitest/results.json',
      'coverage/index.html',
      'bench/results/gateway.json',
      'npm-debug.log',
    ];
    for (const path of written) {
      mkdirSync(dirname(join(clone, path)), { recursive: true });
      writeFileSync(join(clone, path), 'x');
    }
    expect(status()).toBe('');
    for (const path of written) rmSync(join(clone, path));
    // A second worktree of the same repository links node_modules and .services from the first.
    rmSync(join(clone, 'node_modules'), { recursive: true });
    rmSync(join(clone, '.services'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    symlinkSync(join(tmpdir(), 'avrr-elsewhere'), join(clone, '.services'));
    expect(status()).toBe('');
  });
});
