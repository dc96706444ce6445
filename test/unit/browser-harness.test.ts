import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireDashboardBuild } from '../browser/harness.js';

describe('browser tests: the dashboard build they serve through the gateway', () => {
  it('fails saying what is missing and what to run when the dashboard is not built', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-dashboard-'));
    expect(() => requireDashboardBuild(empty)).toThrow(
      new RegExp(`${join(empty, 'index.html')} is missing\\. Run \`npm run dashboard:build\``),
    );
  });
  it('passes once index.html is there', () => {
    const built = mkdtempSync(join(tmpdir(), 'dashboard-'));
    writeFileSync(join(built, 'index.html'), '<!doctype html>');
    expect(() => requireDashboardBuild(built)).not.toThrow();
  });
});
