// A tenant's live rollups: sliding-window counts (total and per event name), unique-visitor
// estimates, top paths per window and the latest value of each metric. Updated once per commit
// by the tenant's actor, by receive time; rebuilt from the store when an actor is created
// (rebuild-rollups.ts).
// Bots are left out, as stats leave them out by default; engagement beacons and PostHog's group
// updates are never counted (core/uncounted.ts), as no read counts them.

import {
  cutToChars,
  isCountedEventName,
  metricLimits,
  type StoredEvent,
  snapshotLimits,
} from '../core/index.ts';
import { UNIQUE_BUCKETS, WindowedUniques } from './hll.ts';
import { OldestFirst } from './oldest-first.ts';
import {
  type BucketedView,
  KeyedSlidingCounter,
  type KeyedSnapshot,
  WINDOW_NAMES,
  type WindowName,
} from './sliding-window.ts';
import { type TopEntry, WindowedTopK } from './top-k.ts';

/** The fields of an event the rollups read. */
export type RollupEvent = Pick<
  StoredEvent,
  'event_id' | 'name' | 'path' | 'visitor_id' | 'is_bot' | 'value' | 'received_at' | 'timestamp'
>;

export interface RollupLimits {
  /** Distinct event names counted separately (others count as "(other)"). */
  namesMax: number;
  /** Paths tracked per top-paths bucket. */
  pathsMax: number;
}

export interface LatestMetric {
  name: string;
  value: number;
  timestamp: number;
  event_id: string;
}

export interface WindowSnapshot {
  events: number;
  uniques: number;
  top_paths: { path: string; views: number }[];
}

export interface RollupSnapshot {
  windows: Record<WindowName, WindowSnapshot>;
  names: KeyedSnapshot['names'];
  events_per_second: number;
  latest_metrics: LatestMetric[];
}

const PAGE_VIEW_NAMES = new Set(['page_view', 'pageview', '$pageview', 'page']);
/** Paths are tracked by their first this many characters (snapshotLimits says why). */
export const TRACKED_PATH_CHARS_MAX = snapshotLimits.pathCharsShownMax;
/** How far ahead of its receipt a metric point's timestamp is believed (client clock skew). */
export const CLOCK_SKEW_MS = metricLimits.pointClockSkewMs;
/** The finest bucket of any window (sliding counters count per second). */
const SECOND_MS = 1000;

/** Buckets per top-paths window: a window's top is exact up to the bucket's first and last. */
const TOP_PATH_WINDOWS: Record<WindowName, { bucketMs: number; buckets: number }> = {
  '1m': { bucketMs: 10_000, buckets: 6 },
  '5m': { bucketMs: 60_000, buckets: 5 },
  '1h': { bucketMs: 300_000, buckets: 12 },
  '24h': { bucketMs: 3_600_000, buckets: 24 },
};

/**
 * The bucketed views of uniques and top paths, fed the counters' events at their receive times:
 * the counters' buckets tell when these change, but for a future bucket (its nextChangeAt).
 */
const SKETCH_VIEWS: readonly BucketedView[] = [
  ...Object.values(UNIQUE_BUCKETS),
  ...Object.values(TOP_PATH_WINDOWS),
].filter(
  (v, i, all) => all.findIndex((o) => o.bucketMs === v.bucketMs && o.buckets === v.buckets) === i,
);

/** One latest metric value: its entries in two maps, the heap, and the name. */
const LATEST_METRIC_BYTES = 400;

export class TenantRollups {
  private readonly counts: KeyedSlidingCounter;
  private readonly uniques = new WindowedUniques();
  private readonly paths: Record<WindowName, WindowedTopK>;
  private readonly latest = new Map<string, LatestMetric>();
  /** The order of each latest point (see `noteLatest`). */
  private readonly latestAt = new Map<string, PointOrder>();
  /**
   * Whether a metric was ever left out (past `namesMax`, or by a rebuild that read as many as it
   * keeps): until then a metric not here has no point at all.
   */
  private metricsLeftOut = false;
  /** Metric names by the time of their latest point, oldest first (for `forgetOldestMetric`). */
  private readonly latestByAge = new OldestFirst((name) => this.latestAt.get(name)?.at);
  /** Bumped on every change, so live pushes can skip tenants with nothing new. */
  version = 0;

  /**
   * Memory held, roughly (the registry's budget, ROLLUP_BYTES_MAX, adds these up): counters,
   * sketches, top-path summaries and latest metric values.
   */
  get approxBytes(): number {
    let bytes = this.counts.approxBytes + this.uniques.byteLength;
    for (const w of WINDOW_NAMES) bytes += this.paths[w].approxBytes;
    return bytes + this.latest.size * LATEST_METRIC_BYTES;
  }

  constructor(private readonly limits: RollupLimits) {
    this.counts = new KeyedSlidingCounter({ namesMax: limits.namesMax });
    const top = (w: WindowName) =>
      new WindowedTopK({ ...TOP_PATH_WINDOWS[w], capacity: limits.pathsMax });
    this.paths = { '1m': top('1m'), '5m': top('5m'), '1h': top('1h'), '24h': top('24h') };
  }

  /** Counts committed events as of `nowMs`. */
  apply(events: readonly RollupEvent[], nowMs: number): void {
    // Events of one commit mostly share names, paths and receive seconds: count them first and
    // add each (key, second) once, so a commit costs a few window updates, not one per event.
    // No window is finer than a second, so counting by second changes no count.
    const names = new Map<number, Map<string, number>>();
    const paths = new Map<number, Map<string, number>>();
    for (const e of events) {
      if (!isCountedEventName(e.name)) continue;
      if (e.value !== null) this.noteLatest(e);
      if (e.is_bot) continue;
      this.uniques.add(e.visitor_id, e.received_at, nowMs);
      const second = e.received_at - (e.received_at % SECOND_MS);
      bump(names, second, e.name);
      if (e.path !== null && PAGE_VIEW_NAMES.has(e.name)) bump(paths, second, trackedPath(e.path));
    }
    for (const [at, counts] of names) {
      for (const [name, n] of counts) this.counts.add(name, at, nowMs, n);
    }
    for (const [at, counts] of paths) {
      for (const [path, n] of counts) {
        for (const w of WINDOW_NAMES) this.paths[w].add(path, at, nowMs, n);
      }
    }
    this.version++;
  }

  /** Metrics whose latest value is kept at most. */
  get metricsMax(): number {
    return this.limits.namesMax;
  }

  latestMetric(name: string): LatestMetric | undefined {
    return this.latest.get(name);
  }

  /** True when every metric with a point has its latest value here (none was left out). */
  get knowsEveryMetric(): boolean {
    return !this.metricsLeftOut;
  }

  /** Says some metric may be missing here: `rebuildRollups` read as many as it keeps. */
  noteMetricsLeftOut(): void {
    this.metricsLeftOut = true;
  }

  /**
   * The first time after `nowMs` at which `snapshot` can differ from `snapshot(nowMs)` unless
   * `version` changes first (Infinity when never): live pushes skip unchanged tenants until it.
   */
  nextChangeAt(nowMs: number): number {
    const paths = WINDOW_NAMES.map((w) => this.paths[w].nextChangeAt(nowMs));
    const counted = this.counts.nextChangeAt(nowMs, SKETCH_VIEWS);
    return Math.min(counted, this.uniques.nextChangeAt(nowMs), ...paths);
  }

  snapshot(nowMs: number, names?: readonly string[]): RollupSnapshot {
    const keyed = this.counts.snapshot(nowMs);
    const uniques = this.uniques.snapshot(nowMs);
    const windows = {} as Record<WindowName, WindowSnapshot>;
    for (const w of WINDOW_NAMES) {
      windows[w] = {
        events: keyed.all[w],
        uniques: Math.min(uniques[w], keyed.all[w]), // an estimate, never over its events
        // Views known for certain: exact while the distinct paths fit the counters, a lower
        // bound past that (never a path seen once shown with the floor of every bucket).
        top_paths: this.paths[w]
          .topCertain(snapshotLimits.topPathsShownMax, nowMs)
          .map((t: TopEntry) => ({
            path: t.item,
            views: t.count - t.error,
          })),
      };
    }
    const wanted = names === undefined ? null : new Set(names);
    return {
      windows,
      names: wanted === null ? keyed.names : keyed.names.filter((n) => wanted.has(n.name)),
      events_per_second: keyed.all.perSecond,
      latest_metrics: [...this.latest.values()].filter(
        (m) => wanted === null || wanted.has(m.name),
      ),
    };
  }

  /**
   * Keeps `e` as its metric's latest value unless a later point is known. Points are ordered
   * by timestamp, one further ahead of its receipt than CLOCK_SKEW_MS as of its receipt plus
   * that (ingest takes timestamps up to 24 h ahead, which would otherwise hide every real
   * point for a day); points of the same time by receipt, then event_id, so the rebuild after
   * a restart (`rebuildRollups`) and a read from the store (query's `getLatestMetric`) pick
   * the same one. With `namesMax` metrics known, a new one takes the place of the one whose
   * latest point is oldest.
   */
  noteLatest(e: RollupEvent): void {
    if (e.value === null) return;
    const order: PointOrder = {
      at: Math.min(e.timestamp, e.received_at + CLOCK_SKEW_MS),
      receivedAt: e.received_at,
      id: e.event_id,
    };
    const current = this.latestAt.get(e.name);
    if (current !== undefined && comparePoints(current, order) >= 0) return;
    if (current === undefined && this.latest.size >= this.limits.namesMax) {
      this.metricsLeftOut = true; // this one, or the one it replaces
      if (!this.forgetOldestMetric(order.at, e.name)) return;
    }
    this.latestAt.set(e.name, order);
    this.latestByAge.note(e.name, order.at, this.latestAt.size);
    this.latest.set(e.name, {
      name: e.name,
      value: e.value,
      timestamp: e.timestamp,
      event_id: e.event_id,
    });
    this.version++;
  }

  /**
   * Forgets the metric whose latest point is oldest, if it is older than a point of `name` at
   * `at` (ties by name, so which metrics stay never depends on arrival order); false otherwise.
   */
  private forgetOldestMetric(at: number, name: string): boolean {
    const oldest = this.latestByAge.peek();
    if (oldest === null || !(oldest.at < at || (oldest.at === at && oldest.name < name))) {
      return false;
    }
    this.latest.delete(oldest.name);
    this.latestAt.delete(oldest.name);
    return true;
  }
}

/** How latest metric points are ordered: by `at`, then receipt, then event_id. */
interface PointOrder {
  at: number;
  receivedAt: number;
  id: string;
}

function comparePoints(a: PointOrder, b: PointOrder): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.receivedAt !== b.receivedAt) return a.receivedAt - b.receivedAt;
  // By UTF-8 bytes, as DuckDB orders text (JavaScript's < compares UTF-16 units).
  return Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

/**
 * A path as the top-paths summary keeps it: cut to TRACKED_PATH_CHARS_MAX (never within a
 * surrogate pair), marked with '…'.
 */
function trackedPath(path: string): string {
  return path.length <= TRACKED_PATH_CHARS_MAX
    ? path
    : `${cutToChars(path, TRACKED_PATH_CHARS_MAX - 1)}…`;
}

/** Adds one to the count of `key` received at `at`. */
function bump(counts: Map<number, Map<string, number>>, at: number, key: string): void {
  let byKey = counts.get(at);
  if (byKey === undefined) {
    byKey = new Map();
    counts.set(at, byKey);
  }
  byKey.set(key, (byKey.get(key) ?? 0) + 1);
}
