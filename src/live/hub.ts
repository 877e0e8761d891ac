// The live hub: who is connected for which tenant, their subscriptions, and the fan-out of
// counter snapshots. Each tick it looks at every watched tenant and, when its rollups changed
// and the push interval passed, publishes one message per topic (one per tenant and names
// filter) through the server's pub/sub — never a loop of sends. Quiet topics get heartbeats;
// a socket whose queued bytes pass the limit is closed with 1013.

import { assert, type Clock, type Logger } from '../core/index.ts';
import {
  type Connection,
  isDue,
  type LivePublisher,
  type LiveSocket,
  type LiveSource,
  TenantFeed,
} from './feed.ts';
import { checkLiveLimits, type LiveLimits } from './limits.ts';
import { errorMessage, heartbeatMessage, parseClientMessage, snapshotMessage } from './message.ts';

export interface LiveHubDeps {
  source: LiveSource;
  clock: Clock;
  limits: LiveLimits;
  log: Logger;
}

/** Whether one more live socket may open for a tenant. */
export type LiveAdmission =
  | { kind: 'ok' }
  | { kind: 'full'; scope: 'tenant' | 'server'; reason: string };

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
  /** Sockets closed because their credentials lapsed. */
  revokedClosed: number;
}

export const CLOSE_GOING_AWAY = 1001;
/** The credentials a socket opened with were revoked, expired or lost their access. */
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** How often open sockets' credentials are checked again (revocation, expiry, membership). */
export const CREDENTIALS_RECHECK_MS = 5000;

export class LiveHub {
  private readonly feeds = new Map<string, TenantFeed>();
  private readonly connections = new Map<LiveSocket, Connection>();
  private readonly limits: LiveLimits;
  private publisher: LivePublisher | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly counts = { initial: 0, published: 0, heartbeats: 0, slow: 0, revoked: 0 };
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: LiveHubDeps) {
    this.limits = checkLiveLimits(deps.limits);
  }

  admit(tenant: string): LiveAdmission {
    const { subscribersMax, subscribersPerTenantMax } = this.limits;
    if (this.connections.size >= subscribersMax) {
      const reason =
        `the server has ${this.connections.size} live subscribers ` + `(limit ${subscribersMax})`;
      return { kind: 'full', scope: 'server', reason };
    }
    const count = this.feeds.get(tenant)?.connections.size ?? 0;
    if (count >= subscribersPerTenantMax) {
      const reason =
        `tenant ${tenant} has ${count} live subscribers ` + `(limit ${subscribersPerTenantMax})`;
      return { kind: 'full', scope: 'tenant', reason };
    }
    return { kind: 'ok' };
  }

  /**
   * Registers an opened socket; false (and the socket closed with 1013) when over a bound.
   * `stillAuthorized` is asked every CREDENTIALS_RECHECK_MS; once false the socket is closed
   * with 1008, so a revoked key or an ended session stops a live feed as it stops a read.
   */
  open(
    socket: LiveSocket,
    tenant: string,
    publisher: LivePublisher,
    stillAuthorized: () => boolean = () => true,
  ): boolean {
    const admission = this.admit(tenant);
    if (admission.kind === 'full') {
      socket.close(CLOSE_TRY_AGAIN_LATER, 'too many live subscribers');
      return false;
    }
    this.publisher = publisher;
    let feed = this.feeds.get(tenant);
    if (feed === undefined) {
      feed = new TenantFeed(tenant, this.deps.source, this.limits.namesShownMax, (t, error) =>
        this.deps.log.error('live: rebuilding rollups failed', { tenant: t, error: String(error) }),
      );
      this.feeds.set(tenant, feed);
    }
    const conn: Connection = {
      socket,
      tenant,
      topic: null,
      generation: 0,
      open: true,
      stillAuthorized,
    };
    feed.connections.add(conn);
    this.connections.set(socket, conn);
    return true;
  }

  /** Handles one client message (text, or what the framework parsed from it). */
  async receive(socket: LiveSocket, raw: unknown): Promise<void> {
    const conn = this.connections.get(socket);
    if (conn === undefined) return;
    const request = parseClientMessage(raw, this.limits);
    switch (request.kind) {
      case 'invalid':
        this.deliver(conn, errorMessage(request.code, request.detail));
        return;
      case 'unsubscribe':
        conn.generation++;
        this.leave(conn);
        return;
      case 'subscribe':
        await this.subscribe(conn, request.names);
        return;
    }
  }

  /** Forgets a closed socket. Safe to call more than once. */
  close(socket: LiveSocket): void {
    const conn = this.connections.get(socket);
    if (conn === undefined) return;
    conn.open = false;
    this.leave(conn);
    this.connections.delete(socket);
    const feed = this.feeds.get(conn.tenant);
    feed?.connections.delete(conn);
    if (feed !== undefined && feed.connections.size === 0) this.feeds.delete(conn.tenant);
  }

  /**
   * One round: close sockets whose credentials lapsed (every CREDENTIALS_RECHECK_MS), push
   * changed tenants, heartbeat quiet topics, close slow consumers.
   */
  tick(): void {
    const now = this.deps.clock.now();
    if (isDue(now, this.checkedAt, CREDENTIALS_RECHECK_MS)) {
      this.checkedAt = now;
      this.closeUnauthorized();
    }
    for (const feed of this.feeds.values()) {
      if (feed.topics.size === 0) continue;
      const pushed = this.push(feed, now);
      const beat = this.heartbeat(feed, now);
      if (pushed || beat) this.closeSlow(feed);
    }
  }

  /** Starts ticking every tickIntervalMs. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.limits.tickIntervalMs);
  }

  /** Stops ticking and closes every live socket (1001), for shutdown. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const socket of [...this.connections.keys()]) {
      socket.close(CLOSE_GOING_AWAY, 'server shutting down');
      this.close(socket);
    }
  }

  stats(): LiveStats {
    let topics = 0;
    for (const feed of this.feeds.values()) topics += feed.topics.size;
    return {
      connections: this.connections.size,
      tenants: this.feeds.size,
      topics,
      initialSnapshots: this.counts.initial,
      published: this.counts.published,
      heartbeats: this.counts.heartbeats,
      slowConsumersClosed: this.counts.slow,
      revokedClosed: this.counts.revoked,
    };
  }

  private async subscribe(conn: Connection, names: readonly string[] | null): Promise<void> {
    const feed = this.feeds.get(conn.tenant);
    assert(feed !== undefined, 'an open connection has a feed');
    if (!feed.hasTopic(names) && feed.topics.size >= this.limits.filtersPerTenantMax) {
      const detail =
        `tenant ${conn.tenant} has ${feed.topics.size} distinct names filters ` +
        `(limit ${this.limits.filtersPerTenantMax}); subscribe to all names or a shared filter`;
      this.deliver(conn, errorMessage('tenant_overloaded', detail));
      return;
    }
    const generation = ++conn.generation;
    const actor = this.deps.source.peek(conn.tenant) ?? this.deps.source.actorFor(conn.tenant);
    if (actor === null) {
      this.deliver(conn, errorMessage('overloaded', 'no room for more tenants; retry later'));
      conn.socket.close(CLOSE_TRY_AGAIN_LATER, 'no room for more tenants');
      return;
    }
    try {
      await actor.whenReady();
    } catch (error) {
      this.deps.log.error('live: loading counters failed', {
        tenant: conn.tenant,
        error: String(error),
      });
      conn.socket.close(CLOSE_INTERNAL_ERROR, 'the counters could not be loaded');
      return;
    }
    if (!conn.open || conn.generation !== generation) return;
    const now = this.deps.clock.now();
    this.leave(conn);
    feed.adopt(actor);
    const topic = feed.join(names, now);
    conn.topic = topic;
    conn.socket.subscribe(topic.id);
    const content = feed.render(topic, feed.snapshot(actor, now, this.limits.pushIntervalMs));
    // A new topic's only member has this content; older members get it at the next push.
    if (topic.members === 1) topic.content = content;
    this.counts.initial++;
    this.deliver(conn, snapshotMessage(now, content));
  }

  private leave(conn: Connection): void {
    const { topic } = conn;
    if (topic === null) return;
    conn.topic = null;
    if (conn.open) conn.socket.unsubscribe(topic.id);
    this.feeds.get(conn.tenant)?.leave(topic);
  }

  /** Publishes a snapshot on each topic whose content changed; true when any went out. */
  private push(feed: TenantFeed, now: number): boolean {
    const { pushIntervalMs, refreshIntervalMs } = this.limits;
    const actor = feed.readyActor(now, refreshIntervalMs);
    if (actor === null) return false;
    const changed =
      actor.rollups.version !== feed.version || isDue(now, feed.builtAt, refreshIntervalMs);
    if (!changed || !isDue(now, feed.pushedAt, pushIntervalMs)) return false;
    const snapshot = feed.snapshot(actor, now, 0);
    feed.version = actor.rollups.version;
    feed.builtAt = now;
    let published = false;
    for (const topic of feed.topics.values()) {
      const content = feed.render(topic, snapshot);
      if (content === topic.content) continue;
      topic.content = content;
      topic.lastSentAt = now;
      this.publish(topic.id, snapshotMessage(now, content));
      published = true;
    }
    if (published) feed.pushedAt = now;
    return published;
  }

  private heartbeat(feed: TenantFeed, now: number): boolean {
    let beat = false;
    for (const topic of feed.topics.values()) {
      if (!isDue(now, topic.lastSentAt, this.limits.heartbeatIntervalMs)) continue;
      topic.lastSentAt = now;
      this.publish(topic.id, heartbeatMessage(now));
      this.counts.heartbeats++;
      beat = true;
    }
    return beat;
  }

  private publish(topic: string, text: string): void {
    this.publisher?.publish(topic, text);
    this.counts.published++;
  }

  /** Sends to one socket, closing it when it cannot keep up. */
  private deliver(conn: Connection, text: string): void {
    const status = conn.socket.send(text);
    if (status === 0 || conn.socket.getBufferedAmount() > this.limits.wsBufferedBytesMax) {
      this.closeSlowConnection(conn);
    }
  }

  private closeUnauthorized(): void {
    for (const conn of [...this.connections.values()]) {
      if (conn.stillAuthorized()) continue;
      this.counts.revoked++;
      this.deps.log.info('live: closing a socket whose credentials lapsed', {
        tenant: conn.tenant,
      });
      this.close(conn.socket);
      conn.socket.close(CLOSE_POLICY_VIOLATION, 'credentials revoked or expired');
    }
  }

  private closeSlow(feed: TenantFeed): void {
    const max = this.limits.wsBufferedBytesMax;
    const slow = [...feed.connections].filter((c) => c.socket.getBufferedAmount() > max);
    for (const conn of slow) this.closeSlowConnection(conn);
  }

  private closeSlowConnection(conn: Connection): void {
    const buffered = conn.socket.getBufferedAmount();
    this.counts.slow++;
    this.deps.log.warn('live: closing a slow consumer', {
      tenant: conn.tenant,
      buffered_bytes: buffered,
      limit_bytes: this.limits.wsBufferedBytesMax,
    });
    this.close(conn.socket);
    conn.socket.close(CLOSE_TRY_AGAIN_LATER, `slow consumer: ${buffered} bytes queued`);
  }
}
