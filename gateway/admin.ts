import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import type { Config } from '../shared/config.js';
import { mayOpenQueueDashboard } from '../shared/access.js';
import { AuthError, verifyBearerToken } from '../shared/auth.js';
import type { ErrorCode } from '../shared/errors.js';
import type { RequestHandler } from '../shared/http.js';

const BASE = '/admin/queues';
const COOKIE = 'avrr_admin';

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? '';
  const match = new RegExp(`(?:^|; )${COOKIE}=([A-Za-z0-9_.-]+)`).exec(header);
  return match?.[1];
}

/**
 * The queues' dashboard (bull-board) for administrators only. Authenticate with the
 * Authorization header, or open `/admin/queues?token=<JWT>` once in a browser: the token is
 * checked, kept in an HttpOnly cookie for the dashboard's path, and the URL cleaned.
 */
export function adminHandler(options: { config: Config; queues: Queue[] }): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BASE);
  createBullBoard({ queues: options.queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  const app = express();
  app.disable('x-powered-by');
  app.use(BASE, serverAdapter.getRouter());

  // A plain HTTP answer in the push API's shape (README, Errors): `{ error: { code, message } }`.
  const deny = (res: ServerResponse, status: 401 | 403, message: string) => {
    const code: ErrorCode = status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: { code, message } }));
  };

  return async (req, res, url) => {
    if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return false;
    const fromQuery = url.searchParams.get('token') ?? undefined;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? fromQuery ?? cookieToken(req);
    if (!token) {
      deny(res, 401, `Administrators only: send a bearer token or open ${BASE}?token=<JWT>`);
      return true;
    }
    try {
      const principal = await verifyBearerToken(token, options.config);
      if (!mayOpenQueueDashboard(principal)) {
        deny(res, 403, 'The queues dashboard is for administrators');
        return true;
      }
    } catch (error) {
      if (error instanceof AuthError) {
        deny(res, 401, error.message);
        return true;
      }
      throw error;
    }
    if (fromQuery) {
      const secure = options.config.NODE_ENV === 'production' ? '; Secure' : '';
      res.writeHead(303, {
        location: BASE,
        'set-cookie': `${COOKIE}=${token}; Path=${BASE}; HttpOnly; SameSite=Strict; Max-Age=3600${secure}`,
      });
      res.end();
      return true;
    }
    app(req as express.Request, res as express.Response);
    return true;
  };
}
