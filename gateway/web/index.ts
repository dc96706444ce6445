/**
 * The gateway's browser side (README, "The dashboard"): CORS (cors.ts), the dashboard's files and the
 * GraphQL IDE (static.ts), the page's runtime settings (runtime-config.ts), the development sign-in
 * (dev-signin.ts) and `Subscription` in the HTTP schema (http-schema.ts).
 */
import { resolve } from 'node:path';
import type { Config } from '../../shared/config.js';
import type { RequestHandler } from '../../shared/http.js';
import { corsHandler, corsOrigins } from './cors.js';
import { devSignInHandler } from './dev-signin.js';
import { runtimeConfigHandler } from './runtime-config.js';
import { staticHandler } from './static.js';

export { corsOrigins, guardUpgrades, upgradeAllowed } from './cors.js';
export { publishedSdl, subscriptionsOverHttpRefused, withSubscriptionsInSchema } from './http-schema.js';

/** The browser routes, tried before /graphql (CORS headers, and a browser's GET /graphql sent to the IDE). */
export function webHandlers(config: Config, rootDir: string): RequestHandler[] {
  const origins = corsOrigins(config);
  return [
    corsHandler(origins),
    devSignInHandler(config, origins),
    runtimeConfigHandler(config),
    staticHandler({
      dir: resolve(rootDir, config.DASHBOARD_DIR),
      production: config.NODE_ENV === 'production',
      oidcIssuer: config.OIDC_ISSUER,
    }),
  ];
}
