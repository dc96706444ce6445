/**
 * npm run token -- --role MEMBER_STATE --member-state BE [--subject alice] [--ttl 3600]
 * (--ttl at most AUTH_MAX_TOKEN_LIFETIME_SECONDS: the gateway refuses longer-lived tokens)
 * npm run token -- --role PARTNER --partner weldo
 * npm run token -- --role EU_ANALYST | SUPPORT_DESK | ADMIN
 * Mints a local development token signed with AUTH_JWT_SECRET.
 */
import { parseArgs } from 'node:util';
import { AuthError, mintToken, principalFromClaims, ROLES } from '../shared/auth.js';
import { loadConfigOrExit } from '../shared/config.js';

const USAGE =
  `usage: npm run token -- --role ${ROLES.join('|')} [--member-state XX] [--partner ID] ` +
  `[--subject NAME] [--ttl SECONDS]`;
let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      role: { type: 'string' },
      'member-state': { type: 'string' },
      partner: { type: 'string' },
      subject: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
    },
  }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const config = loadConfigOrExit();
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.AUTH_MAX_TOKEN_LIFETIME_SECONDS) {
  process.stderr.write(
    `--ttl must be 1 to ${config.AUTH_MAX_TOKEN_LIFETIME_SECONDS} seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS), ` +
      `got ${JSON.stringify(values.ttl)}\n${USAGE}\n`,
  );
  process.exit(2);
}
try {
  const principal = principalFromClaims({
    sub:
      values.subject ??
      `dev-${(values.role ?? '').toLowerCase()}` +
        `${values['member-state'] ? `-${values['member-state']}` : ''}` +
        `${values.partner ? `-${values.partner}` : ''}`,
    role: values.role,
    memberState: values['member-state'],
    partnerId: values.partner,
  });
  process.stdout.write(`${await mintToken(principal, config, ttl)}\n`);
} catch (error) {
  if (error instanceof AuthError) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  throw error;
}
