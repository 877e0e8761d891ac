// The live hub: who is connected for which tenant, their subscriptions, and the fan-out of
// counter snapshots. Each tick it looks at every watched tenant and, when its rollups changed
// (a new version, or a bucket with events left a window) and the push interval passed,
// publishes one message per topic (one per tenant and names filter) through the server's
// pub/sub, never a loop of sends (the push round: push.ts). Quiet topics get heartbeats; slow
// consumers, and the largest holders when all sockets hold too much, are closed (1013).
// Rounds over many tenants or sockets run in bounded turns (turns.ts), never stalling the loop.

import { assert, type Clock, type Logger } from '../core/index.ts';
import { admitSocket, type LiveAdmission } from './admission.ts';
import {
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_POLICY_VIOLATION,
  CLOSE_TENANT_DELETED,
  CLOSE_TRY_AGAIN_LATER,
  EVICTED_REASON,
  evictedDetail,
  NO_ROOM_REASON,
  TENANT_DELETED_REASON,
} from './close-codes.ts';
import {
  type Connection,
  type LiveCredentials,
  type LivePublisher,
  type LiveSocket,
  type LiveSource,
  TenantFeed,
} from './feed.ts';
import { checkLiveLimits, type LiveLimits } from './limits.ts';
import { errorMessage, parseClientMessage, snapshotMessage } from './message.ts';
import { MessageBudget } from './message-budget.ts';
import { type PushDeps, pushStep } from './push.ts';
import { readyActor } from './ready-actor.ts';
import {
  CREDENTIALS_UNCHECKED_ROUNDS_MAX,
  OPEN_CREDENTIALS,
  type RecheckHooks,
  RecheckSchedule,
  recheckStep,
} from './recheck.ts';
import { SlowConsumers } from './slow-consumers.ts';
import { type LiveStats, zeroLiveCounts } from './stats.ts';
import { TurnRunner } from './turns.ts';

export interface LiveHubDeps {
  source: LiveSource;
  clock: Clock;
  limits: LiveLimits;
  log: Logger;
}

export class LiveHub {
  private readonly feeds = new Map<string, TenantFeed>();
  private readonly connections = new Map<LiveSocket, Connection>();
  private readonly limits: LiveLimits;
  private publisher: LivePublisher | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The counters of stats(), named as it reports them. */
  private readonly counts = zeroLiveCounts();
  private readonly recheckSchedule = new RecheckSchedule();
  private readonly slow: SlowConsumers;
  /**
   * Deletions of each tenant this hub closed (closeTenant), so a socket admitted before one
   * and opened after it is closed too (see open). One number per tenant deleted while the
   * server runs, as the engine keeps (TenantDeletions.decidedOf).
   */
  private readonly deletions = new Map<string, number>();
  private readonly pushes = new TurnRunner();
  private readonly rechecks = new TurnRunner();
  /** What the push rounds read and call (push.ts). */
  private readonly push: PushDeps;
  /** What a credentials round does with its verdicts (recheck.ts). */
  private readonly recheckHooks: RecheckHooks = {
    lapsed: (conn) => this.closeUnauthorized(conn),
    checkFailed: (conn, error) => {
      this.deps.log.warn('live: checking credentials failed; checked again next round', {
        tenant: conn.tenant,
        error: String(error),
      });
    },
    unchecked: (conn) => this.closeUnchecked(conn),
  };

  constructor(private readonly deps: LiveHubDeps) {
    this.limits = checkLiveLimits(deps.limits);
    this.slow = new SlowConsumers({
      limits: this.limits,
      counts: this.counts,
      log: deps.log,
      all: () => this.connections.values(),
      forget: (conn) => this.close(conn.socket),
    });
    this.push = {
      limits: this.limits,
      now: () => deps.clock.now(),
      counts: this.counts,
      publisher: () => this.publisher,
      watched: (feed) => this.feeds.get(feed.tenant) === feed,
      closeSlow: (conns) => this.slow.check(conns),
      deliver: (conn, text) => this.deliver(conn, text),
    };
  }

  /** Whether one more socket may open for `tenant` (admission.ts). */
  admit(tenant: string): LiveAdmission {
    const count = this.feeds.get(tenant)?.connections.size ?? 0;
    const all = { sockets: this.connections.size, tenants: this.feeds.size };
    return admitSocket(this.limits, all, tenant, count);
  }

  /**
   * How many times `tenant`'s sockets were closed as deleted: taken when a handshake's
   * credentials are checked and given to `open`, which closes the socket (4410) if the tenant
   * was deleted in between.
   */
  deletionsOf(tenant: string): number {
    return this.deletions.get(tenant) ?? 0;
  }

  /**
   * Registers an opened socket; false (and the socket closed with 1013) when over a bound.
   * `credentials` are checked every CREDENTIALS_RECHECK_MS (once per distinct key); once they
   * lapse the socket is closed with 1008, so a revoked key or an ended session stops a live
   * feed as it stops a read. `deletionsAdmitted` is deletionsOf(tenant) when its credentials
   * were checked: a tenant deleted since (its other sockets closed before this one was here)
   * closes this one with 4410 too, at once, as if it had been open at the deletion.
   */
  open(
    socket: LiveSocket,
    tenant: string,
    publisher: LivePublisher,
    credentials: LiveCredentials = OPEN_CREDENTIALS,
    deletionsAdmitted = this.deletionsOf(tenant),
  ): boolean {
    if (this.deletionsOf(tenant) !== deletionsAdmitted) {
      socket.close(CLOSE_TENANT_DELETED, TENANT_DELETED_REASON);
      return false;
    }
    const admission = this.admit(tenant);
    if (admission.kind === 'full') {
      socket.close(CLOSE_TRY_AGAIN_LATER, 'too many live subscribers');
      return false;
    }
    this.publisher = publisher;
    let feed = this.feeds.get(tenant);
    if (feed === undefined) {
      feed = new TenantFeed(tenant, this.deps.source, this.limits.namesShownMax, {
        onRebuildFailed: (t, error) => this.closeFailed(t, error),
        onEvicted: (t) => this.closeEvicted(t),
        onSnapshotBuilt: () => this.counts.snapshotsBuilt++,
      });
      this.feeds.set(tenant, feed);
      this.deps.source.watch(tenant);
    }
    const conn: Connection = {
      socket,
      tenant,
      topic: null,
      generation: 0,
      open: true,
      credentials,
      uncheckedRounds: 0,
      uncheckedAt: Number.NEGATIVE_INFINITY,
      budget: new MessageBudget(this.limits, this.deps.clock.now()),
    };
    feed.connections.add(conn);
    this.connections.set(socket, conn);
    if (credentials.expiresAt != null) this.recheckSchedule.expireAt(credentials.expiresAt);
    return true;
  }

  /** Handles one client message (text, or what the framework parsed from it). */
  async receive(socket: LiveSocket, raw: unknown): Promise<void> {
    const conn = this.connections.get(socket);
    if (conn === undefined) return;
    if (!conn.budget.take(this.deps.clock.now())) {
      this.close(socket);
      return socket.close(CLOSE_POLICY_VIOLATION, conn.budget.reason());
    }
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
    }
  }

  /**
   * Subscribes an open socket to all names, as a client's `{"type":"subscribe"}` does: for
   * clients that only listen (PulseBoard's `/api/v1/ws/metrics`). A subscribe or unsubscribe the
   * client sends meanwhile wins, as a later subscribe always does. Refused (the tenant's filters
   * are full), the socket is closed (1013) after the error: such a client sends no subscribe of
   * its own and would hear nothing more, not even heartbeats; it reconnects later.
   */
  async subscribeAll(socket: LiveSocket): Promise<void> {
    const conn = this.connections.get(socket);
    if (conn === undefined || (await this.subscribe(conn, null)) || !conn.open) return;
    this.closeEach([conn], CLOSE_TRY_AGAIN_LATER, 'too many names filters; retry later');
  }

  /** Forgets a closed socket. Safe to call more than once. */
  close(socket: LiveSocket): void {
    const conn = this.connections.get(socket);
    if (conn === undefined) return;
    conn.open = false;
    this.leave(conn);
    this.connections.delete(socket);
    this.slow.forget(conn);
    const feed = this.feeds.get(conn.tenant);
    feed?.connections.delete(conn);
    if (feed !== undefined && feed.connections.size === 0) {
      this.feeds.delete(conn.tenant);
      this.deps.source.unwatch(conn.tenant);
    }
  }

  /**
   * One round: close sockets whose credentials lapsed (every CREDENTIALS_RECHECK_MS, and soon
   * after recheckSoon or a token's expiry), push changed tenants, heartbeat quiet topics, close
   * slow consumers. A round that fits one turn of the event loop is done when this returns; a
   * longer one goes on in later turns (the promise resolves when it ends), and ticks in the
   * meantime do not start another.
   */
  tick(): Promise<void> {
    const now = this.deps.clock.now();
    let recheck: Promise<void> | null = null;
    if (!this.rechecks.busy && this.recheckSchedule.take(now)) {
      const conns = [...this.connections.values()];
      recheck = this.rechecks.run(recheckStep(conns, this.limits, this.recheckHooks, now));
    }
    const push = this.pushes.busy
      ? Promise.resolve()
      : this.pushes.run(pushStep([...this.feeds.values()], this.push));
    return recheck === null ? push : Promise.all([recheck, push]).then(() => undefined);
  }

  /**
   * Some credentials may have lost their access just now (a key revoked, a session ended, a
   * member removed): every socket's are checked at the next tick, not at the next round.
   */
  recheckSoon(): void {
    this.recheckSchedule.want();
  }

  /** Starts ticking every tickIntervalMs. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.tick(), this.limits.tickIntervalMs);
  }

  /** Stops ticking and closes every live socket (1001), for shutdown. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.pushes.stop();
    this.rechecks.stop();
    this.closeEach([...this.connections.values()], CLOSE_GOING_AWAY, 'server shutting down');
  }

  stats(): LiveStats {
    let topics = 0;
    for (const feed of this.feeds.values()) topics += feed.topics.size;
    return { connections: this.connections.size, tenants: this.feeds.size, topics, ...this.counts };
  }

  /** False when refused: a filter over the tenant's bound (the socket is sent why). */
  private async subscribe(conn: Connection, names: readonly string[] | null): Promise<boolean> {
    const feed = this.feeds.get(conn.tenant);
    assert(feed !== undefined, 'an open connection has a feed');
    // Reserved before the wait for a rebuild: subscribes arriving meanwhile count too.
    const reservation = feed.reserve(names, this.limits.filtersPerTenantMax, conn.topic);
    if (reservation === null) {
      const detail =
        `tenant ${conn.tenant} has ${feed.filterCount()} distinct names filters ` +
        `(limit ${this.limits.filtersPerTenantMax}); subscribe to all names or a shared filter`;
      this.deliver(conn, errorMessage('tenant_overloaded', detail));
      return false;
    }
    try {
      await this.join(conn, feed, names);
    } finally {
      feed.unreserve(reservation);
    }
    return true;
  }

  private async join(
    conn: Connection,
    feed: TenantFeed,
    names: readonly string[] | null,
  ): Promise<void> {
    const generation = ++conn.generation;
    // A rebuild can take long: meanwhile a socket with no topic yet gets heartbeats (push.ts).
    feed.startWaiting(conn, this.deps.clock.now());
    const ready = await readyActor(this.deps.source, conn.tenant).finally(() =>
      feed.stopWaiting(conn),
    );
    if (!conn.open) return;
    if (ready.kind === 'failed') return this.closeFailed(conn.tenant, ready.error, [conn]);
    if (ready.kind === 'no_room') {
      return this.closeNoRoom([conn], `${NO_ROOM_REASON}; retry later`, NO_ROOM_REASON);
    }
    if (conn.generation !== generation) return;
    const { actor } = ready;
    const now = this.deps.clock.now();
    this.leave(conn);
    feed.adopt(actor);
    const topic = feed.join(names, now);
    conn.topic = topic;
    conn.socket.subscribe(topic.id);
    const first = feed.firstContent(topic, actor, now, this.limits.pushIntervalMs);
    // A new topic's only member has this content. Its older members were sent other content:
    // the next push must reach them and this socket even when it renders what the topic was
    // last sent (counts back to it, as after an erasure), so the topic then matches nothing.
    if (topic.members === 1) topic.content = first.content;
    else if (first.content !== topic.content) topic.content = null;
    this.counts.initialSnapshots++;
    this.deliver(conn, snapshotMessage(first.atMs, first.content));
  }

  private leave(conn: Connection): void {
    const { topic } = conn;
    if (topic === null) return;
    conn.topic = null;
    if (conn.open) conn.socket.unsubscribe(topic.id);
    this.feeds.get(conn.tenant)?.leave(topic);
  }

  /** Sends to one socket, closing it when it cannot keep up. */
  private deliver(conn: Connection, text: string): void {
    if (conn.socket.send(text) === 0) this.slow.dropped(conn);
    else this.slow.check([conn]);
  }

  private closeUnauthorized(conn: Connection): void {
    this.counts.revokedClosed++;
    this.deps.log.info('live: closing a socket whose credentials lapsed', { tenant: conn.tenant });
    this.closeEach([conn], CLOSE_POLICY_VIOLATION, 'credentials revoked or expired');
  }

  private closeUnchecked(conn: Connection): void {
    this.counts.uncheckedClosed++;
    this.deps.log.error('live: closing a socket whose credentials could not be checked', {
      tenant: conn.tenant,
      rounds: CREDENTIALS_UNCHECKED_ROUNDS_MAX,
    });
    this.closeEach([conn], CLOSE_INTERNAL_ERROR, 'the credentials could not be checked');
  }

  /** Closes every socket of a deleted tenant (4410): its counters and events are gone. */
  closeTenant(tenant: string): void {
    this.deletions.set(tenant, this.deletionsOf(tenant) + 1);
    const conns = [...(this.feeds.get(tenant)?.connections ?? [])];
    this.closeEach(conns, CLOSE_TENANT_DELETED, TENANT_DELETED_REASON);
  }

  /** A tenant's counters could not be loaded: its sockets (or `conns`) are closed (1011). */
  private closeFailed(tenant: string, error: unknown, conns?: readonly Connection[]): void {
    this.deps.log.error('live: loading counters failed', { tenant, error: String(error) });
    const all = conns ?? [...(this.feeds.get(tenant)?.connections ?? [])];
    this.closeEach(all, CLOSE_INTERNAL_ERROR, 'the counters could not be loaded');
  }

  /** Counters evicted with no room to come back (feed.ts): the sockets are told, then 1013. */
  private closeEvicted(tenant: string): void {
    const conns = [...(this.feeds.get(tenant)?.connections ?? [])];
    this.counts.evictedClosed += conns.length;
    this.deps.log.warn('live: closing the sockets of a tenant whose counters were evicted', {
      tenant,
      sockets: conns.length,
    });
    this.closeNoRoom(conns, evictedDetail(tenant), EVICTED_REASON);
  }

  /** An `overloaded` error, then 1013: clients show the counters as not live, retry later. */
  private closeNoRoom(conns: readonly Connection[], detail: string, reason: string): void {
    for (const conn of conns) this.deliver(conn, errorMessage('overloaded', detail));
    const open = conns.filter((conn) => conn.open); // not closed as slow consumers meanwhile
    this.closeEach(open, CLOSE_TRY_AGAIN_LATER, reason);
  }

  /** Forgets each socket, then closes it with `code` and `reason`. */
  private closeEach(conns: readonly Connection[], code: number, reason: string): void {
    for (const conn of conns) {
      this.close(conn.socket);
      conn.socket.close(code, reason);
    }
  }
}
