import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * What the dashboard's browser tests and bench:dashboard share. The page is opened from the
 * gateway's own `/dashboard/` route (the built dashboard/dist, `DASHBOARD_DIR`), so they test the
 * serving path users get: no stand-in server. The OpenID Connect issuer is the one thing stood in
 * for (at the browser's network layer, by the test itself).
 */
export const DIST = resolve('dashboard/dist');
export const CHROMIUM = '/usr/bin/chromium';

/** Throws, saying what to run, when the dashboard is not built (scripts/test.sh builds it before vitest). */
export function requireDashboardBuild(dir: string = DIST): void {
  const index = join(dir, 'index.html');
  if (!existsSync(index))
    throw new Error(
      `The dashboard is not built: ${index} is missing. Run \`npm run dashboard:build\` ` +
        '(npm test does so before the tests) and run this test again.',
    );
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

export const AXE_SOURCE = (): string => readFileSync(resolve('node_modules/axe-core/axe.min.js'), 'utf8');
