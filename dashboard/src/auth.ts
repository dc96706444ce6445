import { UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { DevPrincipal, RuntimeConfig } from './logic';

/** A signed-in session: the bearer token the page sends to the graph, until it expires. */
export interface Session {
  token: string;
  expiresAt: number;
  source: 'dev' | 'oidc';
}

const DEV_KEY = 'avrr.dashboard.devSession';

let manager: UserManager | null = null;

/** oidc-client-ts, authorization code with PKCE, its user kept in sessionStorage (this tab only). */
export function userManager(config: RuntimeConfig): UserManager | null {
  if (config.auth.mode !== 'oidc') return null;
  if (!manager) {
    manager = new UserManager({
      authority: config.auth.issuer,
      client_id: config.auth.clientId,
      redirect_uri: `${window.location.origin}${config.auth.redirectPath}`,
      post_logout_redirect_uri: `${window.location.origin}${import.meta.env.BASE_URL}`,
      response_type: 'code',
      scope: config.auth.scopes,
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: false,
    });
  }
  return manager;
}

/** The session this tab holds, if any and not expired. */
export async function currentSession(config: RuntimeConfig): Promise<Session | null> {
  const now = Date.now();
  if (config.auth.mode === 'oidc') {
    const user = await userManager(config)?.getUser();
    if (!user || user.expired || !user.access_token) return null;
    return { token: user.access_token, expiresAt: (user.expires_at ?? 0) * 1000, source: 'oidc' };
  }
  if (config.auth.mode === 'dev') {
    const raw = window.sessionStorage.getItem(DEV_KEY);
    if (!raw) return null;
    try {
      const s = JSON.parse(raw) as Session;
      if (typeof s.token === 'string' && typeof s.expiresAt === 'number' && s.expiresAt > now) return s;
    } catch {
      /* a damaged entry is no session */
    }
    window.sessionStorage.removeItem(DEV_KEY);
  }
  return null;
}

interface ProblemBody {
  title?: string;
  detail?: string;
}

/** The development sign-in: the server's local token signer issues a token for `principal`. */
export async function devSignIn(principal: DevPrincipal): Promise<Session> {
  const body: Record<string, string> = { role: principal.role };
  if (principal.memberState) body.memberState = principal.memberState;
  if (principal.partnerId) body.partnerId = principal.partnerId;
  const response = await fetch(`${import.meta.env.BASE_URL}dev-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as ProblemBody;
    throw new Error(`dev-token answered ${response.status}: ${problem.detail ?? problem.title ?? 'no detail'}`);
  }
  const answer = (await response.json()) as { token?: unknown; expiresAt?: unknown };
  if (typeof answer.token !== 'string' || typeof answer.expiresAt !== 'string')
    throw new Error('dev-token answered without a token and its expiry');
  const session: Session = { token: answer.token, expiresAt: Date.parse(answer.expiresAt), source: 'dev' };
  window.sessionStorage.setItem(DEV_KEY, JSON.stringify(session));
  return session;
}

export async function oidcSignIn(config: RuntimeConfig): Promise<void> {
  await userManager(config)?.signinRedirect();
}

/** Completes the redirect back from the identity provider (at the callback path). */
export async function oidcCallback(config: RuntimeConfig): Promise<void> {
  await userManager(config)?.signinRedirectCallback();
}

export async function signOut(config: RuntimeConfig): Promise<void> {
  window.sessionStorage.removeItem(DEV_KEY);
  const m = userManager(config);
  if (m) await m.removeUser();
}
