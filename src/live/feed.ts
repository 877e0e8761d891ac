// One tenant's state in the live hub: its connections, one topic per distinct names filter
// (and the filters of subscribes still waiting for a rebuild), the actor whose rollups it reads
// (and whether they are rebuilt yet), the last content each topic was sent and when it can next
// change, and a short-lived snapshot cache so a burst of new subscribers costs one snapshot.

import type { RollupSnapshot } from '../engine/index.ts';
import { isDue } from './due.ts';
import type { LiveLimits } from './limits.ts';
import { renderSnapshotContent } from './message.ts';
import type { MessageBudget } from './message-budget.ts';

/** The rollups of a tenant as the hub reads them (TenantActor.rollups satisfies this). */
export interface LiveRollups {
  readonly version: number;
  snapshot(nowMs: number): RollupSnapshot;
  /** When the snapshot can next change without a new version (see TenantRollups). */
  nextChangeAt(nowMs: number): number;
}

/** A tenant's actor as the hub uses it (TenantActor satisfies this). */
export interface LiveActor {
  readonly rollups: LiveRollups;
  whenReady(): Promise<void>;
}

/** Where rollups come from (the engine's ActorRegistry satisfies this). */
export interface LiveSource {
  /** The resident actor of a tenant, if any. */
  peek(tenant: string): LiveActor | undefined;
  /**
   * The tenant's actor for a subscribe, created (and rebuilt from the store) if needed; at
   * ACTORS_MAX only an unwatched actor gives way (never a watched one); null when none can.
   */
  actorForWatch(tenant: string): LiveActor | null;
  /**
   * The tenant's actor, created only if that evicts no other: a watched tenant comes back
   * when there is room, never by pushing out another (watched ones would evict each other
   * and rebuild without end).
   */
  actorIfRoom(tenant: string): LiveActor | null;
  /** A tenant with live sockets: its actor is never evicted (a rebuild would lose counts). */
  watch(tenant: string): void;
  /** The tenant has no live socket left. */
  unwatch(tenant: string): void;
  /**
   * Whether `actor`'s rollups could not be rebuilt from the store (checked once whenReady
   * resolved): its counters miss what the store holds, so live sockets are closed with 1011.
   */
  rebuildFailed(actor: LiveActor): boolean;
}

/** A LiveSocket's readyState while it is open (WebSocket.OPEN). */
export const SOCKET_OPEN = 1;

/** The server side of one WebSocket (Bun's ServerWebSocket satisfies this). */
export interface LiveSocket {
  /** SOCKET_OPEN while open; 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes sent, -1 when queued under backpressure, 0 when dropped (or the socket closed). */
  send(data: string): number;
  subscribe(topic: string): unknown;
  unsubscribe(topic: string): unknown;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
}

/** Sends one message to every socket subscribed to a topic (Bun's Server satisfies this). */
export interface LivePublisher {
  publish(topic: string, data: string): number;
}

export interface Topic {
  /** The pub/sub topic name. */
  readonly id: string;
  /** Sorted event names of the filter; null for all. */
  readonly names: readonly string[] | null;
  members: number;
  /** The content last published on this topic; null when its members may hold different ones. */
  content: string | null;
  /** When a snapshot or heartbeat was last published on this topic. */
  lastSentAt: number;
  /** The last content rendered for this topic, and from which snapshot. */
  rendered: { snapshot: RollupSnapshot; content: string } | null;
  /**
   * The newest snapshot (TenantFeed.sequenceOf) a member was sent: a push that waited for its
   * turn while a socket joined with a newer one must not follow it with an older one.
   */
  newestSent: number;
}

export interface Connection {
  readonly socket: LiveSocket;
  readonly tenant: string;
  topic: Topic | null;
  /** Bumped by every subscribe, so a slow one that finishes late is ignored. */
  generation: number;
  open: boolean;
  readonly credentials: LiveCredentials;
  /** Credentials rounds in a row whose check threw (recheck.ts); 0 after one that answered. */
  uncheckedRounds: number;
  /** When the last of them was counted: at most one every CREDENTIALS_RECHECK_MS counts. */
  uncheckedAt: number;
  /** What the client may still send (past it the socket is closed). */
  readonly budget: MessageBudget;
}

/** How a socket's credentials are checked again; sockets with the same key share one check. */
export interface LiveCredentials {
  /** Equal for sockets whose credentials and requested tenant are equal. */
  readonly key: string;
  /**
   * Whether the credentials the socket opened with may still read its tenant: false when they
   * are refused. Throws when it cannot tell (the check itself failed, e.g. SQLite busy).
   */
  stillAuthorized(): boolean;
  /**
   * When they lapse by themselves (an access token's expiry, epoch ms), if known: they are
   * checked again then, not at the next round after it.
   */
  readonly expiresAt?: number | null;
}

/** What a feed tells the hub. */
export interface FeedHooks {
  onRebuildFailed(tenant: string, error: unknown): void;
  /**
   * The tenant's actor was evicted (at ACTORS_MAX, for another tenant's events) and there is no
   * room to bring it back: its sockets would hear only heartbeats.
   */
  onEvicted(tenant: string): void;
  /** A snapshot was built from the rollups (the costly part of a push). */
  onSnapshotBuilt(): void;
}

const filterKey = (names: readonly string[] | null) =>
  names === null ? '*' : JSON.stringify(names);

/** A place held by TenantFeed.reserve: its filter, and the filter it counted on freeing. */
export interface FilterReservation {
  readonly key: string;
  readonly frees: string | null;
}

/** Adds `delta` to a count per key; a count that reaches 0 is removed. */
function addCount(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count <= 0) counts.delete(key);
  else counts.set(key, count);
}

export class TenantFeed {
  readonly connections = new Set<Connection>();
  readonly topics = new Map<string, Topic>();
  /** Rollups version and time of the last pushed snapshot, and when it can next change. */
  version = -1;
  builtAt = Number.NEGATIVE_INFINITY;
  changeAt = Number.NEGATIVE_INFINITY;
  /** When a snapshot was last published on any topic of this tenant. */
  pushedAt = Number.NEGATIVE_INFINITY;
  /**
   * Sockets whose subscribe waits for the rollups to be rebuilt: the number of their subscribes
   * waiting, and the generation of the latest. Those without a topic yet get heartbeats sent to
   * them directly, unless an unsubscribe (a newer generation) came since.
   */
  readonly waiting = new Map<Connection, { subscribes: number; generation: number }>();
  /** When the waiting sockets last got a heartbeat (or the first of them began to wait). */
  waitingBeatAt = Number.NEGATIVE_INFINITY;
  private actor: LiveActor | null = null;
  private ready = false;
  private revivedAt = Number.NEGATIVE_INFINITY;
  private topicSeq = 0;
  /** Snapshots built, numbered in order (see sequenceOf). */
  private built = 0;
  private readonly sequences = new WeakMap<RollupSnapshot, number>();
  /** When each snapshot was taken: its messages' `at`, also when a subscribe reuses it. */
  private readonly takenAt = new WeakMap<RollupSnapshot, number>();
  /** Subscribes waiting for the actor to be rebuilt, per filter key. */
  private readonly pending = new Map<string, number>();
  /** Filters whose only socket is switching away from them (reserve's `leaving`), per key. */
  private readonly freeing = new Map<string, number>();
  private cache: {
    actor: LiveActor;
    version: number;
    atMs: number;
    snapshot: RollupSnapshot;
  } | null = null;

  constructor(
    readonly tenant: string,
    private readonly source: LiveSource,
    private readonly namesShownMax: number,
    private readonly hooks: FeedHooks,
  ) {}

  /**
   * Holds a place for a filter until its subscribe joins (or gives up), so subscribes that
   * wait for a rebuild count toward `filtersMax`; null when the filter would be one too many.
   * `leaving`: the subscriber's topic now, whose place it frees when it is alone there (and
   * no subscribe waits to join it), so a socket may change its filter at the bound. Until that
   * switch ends, joining the topic it frees counts as a new filter (it would not be freed).
   */
  reserve(
    names: readonly string[] | null,
    filtersMax: number,
    leaving: Topic | null,
  ): FilterReservation | null {
    const key = filterKey(names);
    const held = this.pending.get(key);
    const leavingKey = leaving === null ? null : filterKey(leaving.names);
    const frees =
      leavingKey !== null &&
      leaving?.members === 1 &&
      !this.pending.has(leavingKey) &&
      !this.freeing.has(leavingKey);
    const isNew = held === undefined && (!this.topics.has(key) || this.freeing.has(key));
    if (isNew && this.filterCount() - (frees ? 1 : 0) >= filtersMax) return null;
    this.pending.set(key, (held ?? 0) + 1);
    if (frees) addCount(this.freeing, leavingKey, 1);
    return { key, frees: frees ? leavingKey : null };
  }

  /** Gives back a place taken by `reserve`. */
  unreserve(reservation: FilterReservation): void {
    addCount(this.pending, reservation.key, -1);
    if (reservation.frees !== null) addCount(this.freeing, reservation.frees, -1);
  }

  /** Notes a subscribe of `conn` (its generation now) that waits for the rebuild, from `nowMs`. */
  startWaiting(conn: Connection, nowMs: number): void {
    if (this.waiting.size === 0) this.waitingBeatAt = nowMs;
    const subscribes = (this.waiting.get(conn)?.subscribes ?? 0) + 1;
    this.waiting.set(conn, { subscribes, generation: conn.generation });
  }

  /** A subscribe noted by `startWaiting` is done waiting. */
  stopWaiting(conn: Connection): void {
    const held = this.waiting.get(conn);
    if (held === undefined || held.subscribes <= 1) this.waiting.delete(conn);
    else held.subscribes--;
  }

  /** Distinct filters: topics, and reserved filters without a topic yet. */
  filterCount(): number {
    let count = this.topics.size;
    for (const key of this.pending.keys()) if (!this.topics.has(key)) count++;
    return count;
  }

  /** The topic of a filter, created if needed; its member count includes the caller. */
  join(names: readonly string[] | null, nowMs: number): Topic {
    const key = filterKey(names);
    let topic = this.topics.get(key);
    if (topic === undefined) {
      const id = `live:${this.tenant}#${++this.topicSeq}`;
      topic = {
        id,
        names,
        members: 0,
        content: null,
        lastSentAt: nowMs,
        rendered: null,
        newestSent: 0,
      };
      this.topics.set(key, topic);
    }
    topic.members++;
    return topic;
  }

  leave(topic: Topic): void {
    topic.members--;
    if (topic.members === 0) this.topics.delete(filterKey(topic.names));
  }

  /**
   * The actor to read when its rollups are rebuilt, else null. An actor gone (dropped to be
   * rebuilt after an erasure, or evicted) is brought back when there is room, at most once per
   * `reviveIntervalMs`; when there is none (evicted at ACTORS_MAX: another tenant took its
   * place) the feed tells `onEvicted`, and the hub closes its sockets.
   */
  readyActor(nowMs: number, reviveIntervalMs: number): LiveActor | null {
    let actor = this.source.peek(this.tenant) ?? null;
    let evicted = false;
    if (actor === null && isDue(nowMs, this.revivedAt, reviveIntervalMs)) {
      this.revivedAt = nowMs;
      actor = this.source.actorIfRoom(this.tenant);
      evicted = actor === null;
    }
    if (actor === null) {
      // Its rollups, up to tens of MiB, are let go, not held here outside ACTORS_MAX and
      // ROLLUP_BYTES_MAX (a revive a moment ago that is gone again is decided at the next one).
      this.actor = null;
      this.ready = false;
      this.cache = null;
      if (evicted) this.hooks.onEvicted(this.tenant);
      return null;
    }
    if (actor !== this.actor) this.track(actor);
    return this.ready ? actor : null;
  }

  /** Notes that `actor` is rebuilt (the caller awaited whenReady). */
  adopt(actor: LiveActor): void {
    if (actor !== this.actor) {
      this.actor = actor;
      this.version = -1;
    }
    this.ready = true;
  }

  private track(actor: LiveActor): void {
    this.actor = actor;
    this.ready = false;
    this.version = -1;
    actor.whenReady().then(
      () => {
        if (this.source.rebuildFailed(actor)) {
          this.hooks.onRebuildFailed(this.tenant, 'rebuilding from the store failed');
        } else if (this.actor === actor) this.ready = true;
      },
      (error: unknown) => this.hooks.onRebuildFailed(this.tenant, error),
    );
  }

  /**
   * A snapshot to push now, or null: when the rollups are rebuilt and the push interval
   * passed, and they have a new version, or the refresh interval passed and a bucket with
   * events left a window or a name's `partial` ran out since the last one (`nextChangeAt`) —
   * else a snapshot would render what every topic was last sent, and none is built.
   */
  dueSnapshot(
    nowMs: number,
    limits: Pick<LiveLimits, 'pushIntervalMs' | 'refreshIntervalMs'>,
  ): RollupSnapshot | null {
    const actor = this.readyActor(nowMs, limits.refreshIntervalMs);
    if (actor === null) return null;
    const fresh = actor.rollups.version !== this.version;
    if (!fresh && !isDue(nowMs, this.builtAt, limits.refreshIntervalMs)) return null;
    if (!isDue(nowMs, this.pushedAt, limits.pushIntervalMs)) return null;
    if (!fresh && nowMs >= this.builtAt && nowMs < this.changeAt) {
      this.builtAt = nowMs; // as if built: the same content
      return null;
    }
    const snapshot = this.snapshot(actor, nowMs, 0);
    this.version = actor.rollups.version;
    this.builtAt = nowMs;
    this.changeAt = actor.rollups.nextChangeAt(nowMs);
    return snapshot;
  }

  /** A snapshot of `actor` at most `maxAgeMs` old and of its current version. */
  snapshot(actor: LiveActor, nowMs: number, maxAgeMs: number): RollupSnapshot {
    const c = this.cache;
    const { version } = actor.rollups;
    if (c !== null && c.actor === actor && c.version === version && nowMs - c.atMs <= maxAgeMs) {
      return c.snapshot;
    }
    const snapshot = actor.rollups.snapshot(nowMs);
    this.sequences.set(snapshot, ++this.built);
    this.takenAt.set(snapshot, nowMs);
    this.hooks.onSnapshotBuilt();
    this.cache = { actor, version, atMs: nowMs, snapshot };
    return snapshot;
  }

  /** The order in which `snapshot` was built by `snapshot` (later ones are larger; 0: none). */
  sequenceOf(snapshot: RollupSnapshot): number {
    return this.sequences.get(snapshot) ?? 0;
  }

  /**
   * The first content of a socket joining `topic`, from a snapshot at most `maxAgeMs` old,
   * noted as sent to the topic (a push that waited for its turn sends no older one after it),
   * and when that snapshot was taken (its `at`: a push of the same snapshot says the same).
   */
  firstContent(
    topic: Topic,
    actor: LiveActor,
    nowMs: number,
    maxAgeMs: number,
  ): { content: string; atMs: number } {
    const snapshot = this.snapshot(actor, nowMs, maxAgeMs);
    topic.newestSent = Math.max(topic.newestSent, this.sequenceOf(snapshot));
    return { content: this.render(topic, snapshot), atMs: this.takenAt.get(snapshot) ?? nowMs };
  }

  /** The content of `topic` for `snapshot`, rendered once per snapshot. */
  render(topic: Topic, snapshot: RollupSnapshot): string {
    if (topic.rendered?.snapshot === snapshot) return topic.rendered.content;
    const content = renderSnapshotContent(this.tenant, snapshot, topic.names, this.namesShownMax);
    topic.rendered = { snapshot, content };
    return content;
  }
}
