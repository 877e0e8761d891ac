// What the live hub counts and reports in LiveHub.stats(): sockets, tenants and topics now, and
// counters of what it sent and of the sockets it closed, by reason.

export interface LiveStats {
  connections: number;
  tenants: number;
  topics: number;
  /** Snapshots sent to one socket after its subscribe. */
  initialSnapshots: number;
  /** Messages published on topics (snapshots and heartbeats). */
  published: number;
  heartbeats: number;
  slowConsumersClosed: number;
  /** Sends to a socket found closed (its close event not handled yet): forgotten, not slow. */
  closedSends: number;
  /** Sockets closed because their credentials lapsed. */
  revokedClosed: number;
  /** Sockets closed because their credentials could not be checked (recheck.ts). */
  uncheckedClosed: number;
  /** Sockets closed because their tenant's counters were evicted with no room to come back. */
  evictedClosed: number;
  /** Snapshots built from rollups (for subscribes and pushes); unchanged tenants build none. */
  snapshotsBuilt: number;
}

/** The counters of LiveStats, which the hub moves as it works. */
export type LiveCounts = Omit<LiveStats, 'connections' | 'tenants' | 'topics'>;

/** Counters at zero, for a new hub. */
export function zeroLiveCounts(): LiveCounts {
  return {
    initialSnapshots: 0,
    published: 0,
    heartbeats: 0,
    slowConsumersClosed: 0,
    closedSends: 0,
    revokedClosed: 0,
    uncheckedClosed: 0,
    evictedClosed: 0,
    snapshotsBuilt: 0,
  };
}
