// The round that pushes counter snapshots: over the tenants watched when it began, a bounded
// share a turn (tenants, snapshots built, and topics rendered: a tenant's topics may take
// several turns), it publishes one message per topic whose content changed once the push
// interval passed, heartbeats on quiet topics, and hands the sockets that could not keep up to
// the hub to close. Messages go through the server's pub/sub, never a loop of sends; only
// sockets waiting for a rebuild, on no topic yet, get heartbeats sent.

import type { RollupSnapshot } from '../engine/index.ts';
import { isDue } from './due.ts';
import type { Connection, LivePublisher, TenantFeed, Topic } from './feed.ts';
import type { LiveLimits } from './limits.ts';
import { heartbeatMessage, snapshotMessage } from './message.ts';
import type { Step } from './turns.ts';

/** The hub's counters a push round moves (LiveStats names them). */
export interface PushCounts {
  published: number;
  heartbeats: number;
  /** Moved by the feeds as they build snapshots: a turn builds a bounded number. */
  readonly snapshotsBuilt: number;
}

/** What a push round reads and calls on the hub. */
export interface PushDeps {
  limits: LiveLimits;
  now: () => number;
  counts: PushCounts;
  /** Where topics are published (the latest socket's server); null before any opened. */
  publisher: () => LivePublisher | null;
  /** Whether `feed` is still its tenant's (a tenant whose last socket closed is skipped). */
  watched: (feed: TenantFeed) => boolean;
  /** Closes the slow consumers among sockets just published to (slow-consumers.ts). */
  closeSlow: (conns: Iterable<Connection>) => void;
  /** Sends to one socket (closing it when it cannot keep up). */
  deliver: (conn: Connection, text: string) => void;
}

/** A tenant whose snapshot is being published, topic by topic, over one or more turns. */
interface FeedPush {
  feed: TenantFeed;
  snapshot: RollupSnapshot;
  /** The time the snapshot was built for (its messages' `at`). */
  now: number;
  topics: Topic[];
  next: number;
  published: boolean;
}

/** A round over `feeds`, at most a turn's share of them (and of their topics) at a time. */
export function pushStep(feeds: readonly TenantFeed[], deps: PushDeps): Step {
  const { tickTenantsPerTurnMax, tickSnapshotsPerTurnMax, tickTopicsPerTurnMax } = deps.limits;
  const { counts } = deps;
  let next = 0;
  let current: FeedPush | null = null;
  return () => {
    const now = deps.now();
    const builtBefore = counts.snapshotsBuilt;
    const budget = { topics: tickTopicsPerTurnMax };
    if (current !== null && !publishSome(current, budget, deps)) return false;
    current = null;
    const end = Math.min(feeds.length, next + tickTenantsPerTurnMax);
    while (
      next < end &&
      budget.topics > 0 &&
      counts.snapshotsBuilt - builtBefore < tickSnapshotsPerTurnMax
    ) {
      const feed = feeds[next++] as TenantFeed;
      if (!deps.watched(feed)) continue;
      heartbeatWaiting(feed, now, deps);
      if (feed.topics.size === 0) continue;
      const snapshot = feed.dueSnapshot(now, deps.limits);
      if (snapshot === null) {
        if (heartbeat(feed, now, deps)) closeSlow(feed, deps);
        continue;
      }
      const topics = [...feed.topics.values()];
      const push: FeedPush = { feed, snapshot, now, topics, next: 0, published: false };
      if (!publishSome(push, budget, deps)) {
        current = push; // its other topics in the next turns
        return false;
      }
    }
    return next >= feeds.length;
  };
}

/**
 * Publishes the snapshot on the topics of `push` whose content changed, as many as `budget`
 * allows (each rendered topic takes one); once every topic is done, heartbeats the quiet ones
 * and closes slow consumers, and says true. A tenant no longer watched, or a topic left
 * meanwhile, is skipped.
 */
function publishSome(push: FeedPush, budget: { topics: number }, deps: PushDeps): boolean {
  const { feed, snapshot, now } = push;
  if (!deps.watched(feed)) return true;
  const sequence = feed.sequenceOf(snapshot);
  while (push.next < push.topics.length) {
    if (budget.topics <= 0) return false;
    const topic = push.topics[push.next++] as Topic;
    if (topic.members === 0) continue;
    if (sequence < topic.newestSent) {
      // A socket joined it in a turn between, with a newer snapshot: this one would take its
      // counts back. Its other members get the newer state at the tenant's next push.
      feed.version = -1;
      continue;
    }
    budget.topics--;
    const content = feed.render(topic, snapshot);
    if (content === topic.content) continue;
    topic.content = content;
    topic.lastSentAt = now;
    topic.newestSent = sequence;
    publish(topic.id, snapshotMessage(now, content), deps);
    push.published = true;
  }
  if (push.published) feed.pushedAt = now;
  // Stamped now, not when the snapshot was taken: a socket may have joined a quiet topic since
  // with a newer snapshot, and a heartbeat says that nothing changed after its `at`.
  const beat = heartbeat(feed, deps.now(), deps);
  if (push.published || beat) closeSlow(feed, deps);
  return true;
}

function heartbeat(feed: TenantFeed, now: number, deps: PushDeps): boolean {
  let beat = false;
  for (const topic of feed.topics.values()) {
    if (!isDue(now, topic.lastSentAt, deps.limits.heartbeatIntervalMs)) continue;
    topic.lastSentAt = now;
    publish(topic.id, heartbeatMessage(now), deps);
    deps.counts.heartbeats++;
    beat = true;
  }
  return beat;
}

/**
 * Heartbeats the sockets whose subscribe waits for a rebuild and that have no topic yet (a
 * first subscribe), sent to each: they are on no topic to publish to, and a rebuild may take
 * longer than a client waits for a silent socket. Sockets with a topic hear its heartbeats;
 * one that unsubscribed since its latest subscribe hears none (unsubscribe stops them).
 */
function heartbeatWaiting(feed: TenantFeed, now: number, deps: PushDeps): void {
  if (feed.waiting.size === 0) return;
  if (!isDue(now, feed.waitingBeatAt, deps.limits.heartbeatIntervalMs)) return;
  feed.waitingBeatAt = now;
  const text = heartbeatMessage(now);
  for (const [conn, { generation }] of [...feed.waiting]) {
    if (!conn.open || conn.topic !== null || conn.generation !== generation) continue;
    deps.deliver(conn, text);
    deps.counts.heartbeats++;
  }
}

function publish(topic: string, text: string, deps: PushDeps): void {
  deps.publisher()?.publish(topic, text);
  deps.counts.published++;
}

function closeSlow(feed: TenantFeed, deps: PushDeps): void {
  deps.closeSlow([...feed.connections]);
}
