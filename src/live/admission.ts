// Whether one more live socket may open: the server's and the tenant's subscriber limits
// (subscribersMax, subscribersPerTenantMax), with the reason a refusal names.

import type { LiveLimits } from './limits.ts';

/** Whether one more live socket may open for a tenant. */
export type LiveAdmission =
  | { kind: 'ok' }
  | { kind: 'full'; scope: 'tenant' | 'server'; reason: string };

/** The admission of a socket for `tenant`, which has `count` of the server's `all` sockets. */
export function admitSocket(
  limits: Pick<LiveLimits, 'subscribersMax' | 'subscribersPerTenantMax'>,
  all: number,
  tenant: string,
  count: number,
): LiveAdmission {
  const { subscribersMax: serverMax, subscribersPerTenantMax: tenantMax } = limits;
  if (all >= serverMax) {
    const reason = `the server has ${all} live subscribers (limit ${serverMax})`;
    return { kind: 'full', scope: 'server', reason };
  }
  if (count >= tenantMax) {
    const reason = `tenant ${tenant} has ${count} live subscribers (limit ${tenantMax})`;
    return { kind: 'full', scope: 'tenant', reason };
  }
  return { kind: 'ok' };
}
