// Whether one more live socket may open: the server's and the tenant's subscriber limits
// (subscribersMax, subscribersPerTenantMax), and, once the server is near its limit, the
// tenant's fair part of it, with the reason a refusal names.

import { tenantShareLimits } from '../core/index.ts';
import type { LiveLimits } from './limits.ts';

/** Whether one more live socket may open for a tenant. */
export type LiveAdmission =
  | { kind: 'ok' }
  | { kind: 'full'; scope: 'tenant' | 'server'; reason: string };

/** The server's live sockets when a handshake asks: all of them, and the tenants holding them. */
export interface LiveOccupancy {
  sockets: number;
  tenants: number;
}

/**
 * The admission of a socket for `tenant`, which holds `count` of the server's sockets. Once
 * they reach tenantShareLimits.hotPressureShare of subscribersMax (the hot tier's threshold),
 * a tenant that would hold more than its part is refused (its own 429) while the others go on
 * until the server is full: read keys of a few projects cannot take every socket of the server
 * and have every other tenant's dashboards refused. The part is subscribersMax ÷ (the tenants
 * holding sockets + 1): one part is kept for a tenant still to come, so tenants each at their
 * part hold at most n/(n+1) of the server and a newcomer always finds room (its first socket
 * is never over its part). Divided by the tenants holding sockets alone, five projects (one
 * person's) each at a fifth would hold every socket, and the next tenant would get none:
 * sockets stay until their clients go. The hot tier's budget is shared by the same rule.
 */
export function admitSocket(
  limits: Pick<LiveLimits, 'subscribersMax' | 'subscribersPerTenantMax'>,
  all: LiveOccupancy,
  tenant: string,
  count: number,
): LiveAdmission {
  const { subscribersMax: serverMax, subscribersPerTenantMax: tenantMax } = limits;
  if (all.sockets >= serverMax) {
    const reason = `the server has ${all.sockets} live subscribers (limit ${serverMax})`;
    return { kind: 'full', scope: 'server', reason };
  }
  if (count >= tenantMax) {
    const reason = `tenant ${tenant} has ${count} live subscribers (limit ${tenantMax})`;
    return { kind: 'full', scope: 'tenant', reason };
  }
  return shareRefusal(serverMax, all, tenant, count) ?? { kind: 'ok' };
}

/** The refusal of a tenant that would hold more than its part of a server near its limit. */
function shareRefusal(
  serverMax: number,
  all: LiveOccupancy,
  tenant: string,
  count: number,
): LiveAdmission | null {
  if (all.sockets < serverMax * tenantShareLimits.hotPressureShare) return null;
  // A tenant holding none is not among all.tenants: its part is then over zero (n tenants
  // hold at least n sockets, fewer than serverMax here), so its first socket is let in.
  const sharing = all.tenants + 1;
  const part = Math.floor(serverMax / sharing);
  if (count < part) return null;
  const holding =
    all.tenants === 1 ? 'the one holding sockets' : `the ${all.tenants} holding sockets`;
  const reason =
    `tenant ${tenant} has ${count} of the server's ${all.sockets} live subscribers while the ` +
    `server is near its limit, and its part is ${part} (LIVE_SUBSCRIBERS_MAX ${serverMax} ÷ ` +
    `${sharing} tenants: ${holding} and one to come)`;
  return { kind: 'full', scope: 'tenant', reason };
}
