// Every limit of live/ in one place, units last: how often snapshots are pushed and checked,
// heartbeats, slow-consumer and subscriber bounds, and the size of what a client may send.
// main.ts maps config onto these; tests pass their own. Relations are asserted at load time.

import { assert, KiB, MiB } from '../core/index.ts';
import { liveMessageBytesMax } from './message-size.ts';

export interface LiveLimits {
  /** Least time between two snapshots on one topic: changes in between are coalesced. */
  pushIntervalMs: number;
  /** How often the hub looks for changed rollups (the latency of an isolated change). */
  tickIntervalMs: number;
  /** An unchanged tenant's snapshot is rebuilt this often, so windows slide without events. */
  refreshIntervalMs: number;
  /** A topic with nothing to say this long gets a heartbeat. */
  heartbeatIntervalMs: number;
  /**
   * A socket with more bytes than this queued in the server is closed (1013); at least one
   * whole message (liveMessageBytesMax), so a socket is never closed for its first snapshot.
   */
  wsBufferedBytesMax: number;
  /**
   * Bytes all live sockets together may hold queued in the server: past it the sockets holding
   * the most are closed (1013) until the rest fit (slow-consumers.ts), so sockets that never
   * read cannot hold subscribersMax × wsBufferedBytesMax.
   */
  wsBufferedBytesTotalMax: number;
  /** Open live sockets of one tenant. */
  subscribersPerTenantMax: number;
  /** Open live sockets of the whole server. */
  subscribersMax: number;
  /** Distinct `names` filters (hence topics) of one tenant. */
  filtersPerTenantMax: number;
  /** Event names in one subscribe filter. */
  subscribeNamesMax: number;
  /** Event names listed per window and latest metrics per message, unfiltered. */
  namesShownMax: number;
  /** Size of one message from a client. */
  clientMessageBytesMax: number;
  /**
   * Messages a client may send at once, then one more every `clientMessageIntervalMs`; past
   * that its socket is closed (1008), since each subscribe can cost a snapshot.
   */
  clientMessageBurstMax: number;
  clientMessageIntervalMs: number;
  /**
   * Snapshots a tick builds in one turn of the event loop (each costs 1–4 ms for a busy
   * tenant); the rest of the round goes on after a setImmediate, so the loop never stalls.
   */
  tickSnapshotsPerTurnMax: number;
  /** Tenants a tick looks at in one turn (an unchanged one costs microseconds). */
  tickTenantsPerTurnMax: number;
  /**
   * Topics a tick renders in one turn: a filter of 100 names costs up to ~1 ms, and a tenant
   * may have 64 (filtersPerTenantMax), so its topics may take several turns.
   */
  tickTopicsPerTurnMax: number;
  /** Distinct credentials checked again in one turn (a check reads SQLite: 10–25 µs). */
  recheckCredentialsPerTurnMax: number;
  /** Sockets a credentials round goes through in one turn. */
  recheckSocketsPerTurnMax: number;
}

/**
 * The longest heartbeat interval (LIVE_HEARTBEAT_INTERVAL's top): a client takes a socket that
 * heard nothing for three of them for a dead connection (the dashboard's LIVE_SILENCE_MAX_MS,
 * 45 s), so a longer one would have a quiet tenant's dashboard drop and reopen its socket.
 */
export const HEARTBEAT_INTERVAL_MS_MAX = 15_000;

/** Bun's default per-socket send buffer limit: past it `send` and `publish` silently drop. */
const BUN_BACKPRESSURE_LIMIT_BYTES = 16 * MiB;

export const defaultLiveLimits: LiveLimits = {
  pushIntervalMs: 250,
  tickIntervalMs: 25,
  refreshIntervalMs: 1_000,
  heartbeatIntervalMs: 15_000,
  wsBufferedBytesMax: 1 * MiB,
  wsBufferedBytesTotalMax: 128 * MiB,
  subscribersPerTenantMax: 10_000,
  subscribersMax: 50_000,
  filtersPerTenantMax: 64,
  subscribeNamesMax: 100,
  namesShownMax: 50,
  clientMessageBytesMax: 16 * KiB,
  clientMessageBurstMax: 20,
  clientMessageIntervalMs: 250,
  tickSnapshotsPerTurnMax: 4,
  tickTenantsPerTurnMax: 1_000,
  tickTopicsPerTurnMax: 16,
  recheckCredentialsPerTurnMax: 200,
  recheckSocketsPerTurnMax: 5_000,
};

/** Checks the relations between live limits; throws (InvariantError) when one is broken. */
export function checkLiveLimits(limits: LiveLimits): LiveLimits {
  assert(limits.tickIntervalMs > 0, 'the hub ticks');
  assert(limits.tickIntervalMs <= limits.pushIntervalMs, 'changes are seen before they are due');
  assert(limits.pushIntervalMs <= limits.refreshIntervalMs, 'a refresh is never faster than push');
  assert(limits.refreshIntervalMs < limits.heartbeatIntervalMs, 'heartbeats mean no change');
  assert(
    limits.heartbeatIntervalMs <= HEARTBEAT_INTERVAL_MS_MAX,
    'a quiet socket hears a heartbeat before its client gives it up',
  );
  assert(
    limits.wsBufferedBytesMax > 0 && limits.wsBufferedBytesMax < BUN_BACKPRESSURE_LIMIT_BYTES,
    'a slow consumer is closed before Bun starts dropping its messages',
  );
  assert(
    limits.wsBufferedBytesMax >= liveMessageBytesMax(limits),
    'one whole message, the largest a socket is sent, never makes it a slow consumer',
  );
  assert(
    limits.wsBufferedBytesTotalMax >= limits.wsBufferedBytesMax,
    "one socket at its own limit fits the server's budget",
  );
  assert(limits.subscribersPerTenantMax <= limits.subscribersMax, 'a tenant fits the server');
  assert(limits.filtersPerTenantMax >= 1, 'a tenant has at least the unfiltered topic');
  assert(limits.subscribeNamesMax >= 1 && limits.namesShownMax >= 1, 'names can be listed');
  assert(limits.clientMessageBytesMax >= 1 * KiB, 'a subscribe message with names fits');
  assert(
    limits.clientMessageBurstMax >= 2 && limits.clientMessageIntervalMs > 0,
    'a client may subscribe and change its filter',
  );
  assert(
    limits.tickSnapshotsPerTurnMax >= 1 &&
      limits.tickTenantsPerTurnMax >= 1 &&
      limits.tickTopicsPerTurnMax >= 1,
    'a tick makes progress every turn',
  );
  assert(
    limits.recheckCredentialsPerTurnMax >= 1 && limits.recheckSocketsPerTurnMax >= 1,
    'a credentials round makes progress every turn',
  );
  return limits;
}

checkLiveLimits(defaultLiveLimits);

/**
 * Bun's server-wide WebSocket settings that go with these limits, for `app.listen({ websocket })`:
 * a client message over the limit closes its socket (1009) before anything parses it.
 */
export function liveSocketSettings(limits: LiveLimits) {
  return {
    maxPayloadLength: limits.clientMessageBytesMax,
    backpressureLimit: BUN_BACKPRESSURE_LIMIT_BYTES,
    closeOnBackpressureLimit: false,
    perMessageDeflate: false,
  };
}
