import type { Config } from '../../shared/config.js';
import { MEMBER_STATES, PARTNERS } from '../../shared/domain.js';
import type { Role } from '../../shared/auth.js';
import { sendJson, type RequestHandler } from '../../shared/http.js';
import { devSignInEnabled } from './dev-signin.js';
import { securityHeaders } from './static.js';

export const RUNTIME_CONFIG_PATH = '/dashboard/config.json';
/** Where the identity provider sends the browser back after sign-in (the page's own route). */
export const OIDC_REDIRECT_PATH = '/dashboard/callback';

/** One principal the development sign-in offers (minted by POST /dashboard/dev-token). */
export interface DevPrincipal {
  label: string;
  role: Role;
  memberState?: string;
  partnerId?: string;
}

export type DashboardAuth =
  | { mode: 'oidc'; issuer: string; clientId: string; scopes: string; redirectPath: string }
  | { mode: 'dev'; principals: DevPrincipal[] }
  | { mode: 'none' };

/** What the page reads at start (GET /dashboard/config.json). */
export interface DashboardRuntimeConfig {
  graphqlPath: string;
  auth: DashboardAuth;
  defaultLocale: string;
  locales: string[];
}

/** The Member States the demo data sends most cases from (scripts/demo), offered by the development sign-in. */
const DEV_MEMBER_STATES = ['DE', 'BE', 'NL', 'SE', 'FR'] as const;

/**
 * Every role, several Member States and each demo partner: what the development sign-in offers.
 * The page shows these labels; what each principal may see is decided by the graph.
 */
export function devPrincipals(): DevPrincipal[] {
  const stateName = (code: string) => MEMBER_STATES.find((m) => m.code === code)?.name ?? code;
  return [
    { label: 'Administrator', role: 'ADMIN' },
    { label: 'EU analyst', role: 'EU_ANALYST' },
    { label: 'Support desk', role: 'SUPPORT_DESK' },
    { label: 'Data protection officer', role: 'DATA_PROTECTION_OFFICER' },
    ...DEV_MEMBER_STATES.map((code) => ({
      label: `Member State officer: ${stateName(code)} (${code})`,
      role: 'MEMBER_STATE' as const,
      memberState: code,
    })),
    ...PARTNERS.map((partner) => ({
      label: `Partner: ${partner.name}`,
      role: 'PARTNER' as const,
      partnerId: partner.id,
    })),
  ];
}

/**
 * The page's settings: OpenID Connect (authorization code with PKCE) when OIDC_ISSUER and OIDC_CLIENT_ID
 * are set; else the development sign-in, never in production (there the page says sign-in is not
 * configured).
 */
export function runtimeConfig(
  config: Pick<Config, 'NODE_ENV' | 'OIDC_ISSUER' | 'OIDC_CLIENT_ID' | 'OIDC_SCOPES'> &
    Partial<Pick<Config, 'AUTH_JWKS_URL'>>,
): DashboardRuntimeConfig {
  let auth: DashboardAuth;
  if (config.OIDC_ISSUER && config.OIDC_CLIENT_ID)
    auth = {
      mode: 'oidc',
      issuer: config.OIDC_ISSUER,
      clientId: config.OIDC_CLIENT_ID,
      scopes: config.OIDC_SCOPES,
      redirectPath: OIDC_REDIRECT_PATH,
    };
  // No role picker where the development sign-in does not exist (production, or an identity provider's keys only).
  else if (!devSignInEnabled(config)) auth = { mode: 'none' };
  else auth = { mode: 'dev', principals: devPrincipals() };
  return { graphqlPath: '/graphql', auth, defaultLocale: 'en', locales: ['en'] };
}

/** GET /dashboard/config.json: the page's settings, never cached (they follow the configuration). */
export function runtimeConfigHandler(
  config: Pick<Config, 'NODE_ENV' | 'OIDC_ISSUER' | 'OIDC_CLIENT_ID' | 'OIDC_SCOPES' | 'AUTH_JWKS_URL'>,
): RequestHandler {
  const body = runtimeConfig(config);
  const headers = { ...securityHeaders(config.OIDC_ISSUER), 'cache-control': 'no-cache' };
  return async (req, res, url) => {
    if (url.pathname !== RUNTIME_CONFIG_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end();
    } else sendJson(res, 200, body, headers);
    return true;
  };
}
