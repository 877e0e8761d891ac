// The close codes the live hub ends a socket with (RFC 6455 §7.4; 4xxx are Tally's own). The
// README's "Close codes" and the OpenAPI components say what a client should do with each.

/** The server is shutting down. */
export const CLOSE_GOING_AWAY = 1001;
/**
 * The credentials a socket opened with were revoked, expired or lost their access, or the
 * client sent messages past its budget.
 */
export const CLOSE_POLICY_VIOLATION = 1008;
/** The tenant's counters could not be loaded, or the credentials could not be checked. */
export const CLOSE_INTERNAL_ERROR = 1011;
/**
 * A subscriber limit was reached, the tenant's counters have no room (ACTORS_MAX, every
 * resident tenant busy: NO_ROOM_REASON) or were evicted for another tenant's events with no room
 * to come back (EVICTED_REASON), or the socket is a slow consumer.
 */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** The project was deleted (4000 + HTTP 410 Gone): nothing is left to reconnect to. */
export const CLOSE_TENANT_DELETED = 4410;
/** The reason a socket of a deleted tenant is closed with (CLOSE_TENANT_DELETED). */
export const TENANT_DELETED_REASON = 'the project was deleted';
/** The reason a socket is closed with when its tenant's counters find no room (ACTORS_MAX). */
export const NO_ROOM_REASON = 'no room for more tenants';
/**
 * The reason the sockets of a tenant are closed with (CLOSE_TRY_AGAIN_LATER) when its counters
 * were evicted at ACTORS_MAX to take another tenant's events and there is no room to bring
 * them back: they would only hear heartbeats, the counters frozen and shown as live.
 */
export const EVICTED_REASON = 'counters evicted: no room for more tenants (ACTORS_MAX)';

/** The detail of the error message the sockets of an evicted tenant get before EVICTED_REASON. */
export function evictedDetail(tenant: string): string {
  return (
    `the counters of tenant ${tenant} were evicted to make room for another tenant's events ` +
    '(ACTORS_MAX resident tenants) and there is no room to bring them back; retry later'
  );
}
