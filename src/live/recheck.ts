// The round that checks open sockets' credentials again (revoked keys, ended sessions, expired
// tokens, lost membership). Each distinct credential is checked once per round, so thousands
// of sockets of one dashboard key cost one check, and a turn checks a bounded share.

import type { Connection, LiveCredentials } from './feed.ts';
import type { LiveLimits } from './limits.ts';
import type { Step } from './turns.ts';

/** How often open sockets' credentials are checked again (revocation, expiry, membership). */
export const CREDENTIALS_RECHECK_MS = 5000;

/** Credentials that never lapse (open mode, tests). */
export const OPEN_CREDENTIALS: LiveCredentials = { key: 'open', stillAuthorized: () => true };

/** A round over `conns`; `lapsed` is called for each open one whose credentials lapsed. */
export function recheckStep(
  conns: readonly Connection[],
  limits: Pick<LiveLimits, 'recheckCredentialsPerTurnMax' | 'recheckSocketsPerTurnMax'>,
  lapsed: (conn: Connection) => void,
): Step {
  const verdicts = new Map<string, boolean>();
  let next = 0;
  return () => {
    let checks = 0;
    const end = Math.min(conns.length, next + limits.recheckSocketsPerTurnMax);
    while (next < end && checks < limits.recheckCredentialsPerTurnMax) {
      const conn = conns[next++] as Connection;
      if (!conn.open) continue;
      const { key } = conn.credentials;
      let allowed = verdicts.get(key);
      if (allowed === undefined) {
        allowed = conn.credentials.stillAuthorized();
        verdicts.set(key, allowed);
        checks++;
      }
      if (!allowed) lapsed(conn);
    }
    return next >= conns.length;
  };
}
