// How the dedup index comes back at start, and how a clean close keeps it for that.
//
// A clean close (nothing in flight: every key in the index is a durable event's) writes a
// snapshot of the index (dedup-snapshot.ts) with the store's mark once nothing more can change
// the store. The next start uses it only if it is whole and made for the same window, and the
// store is exactly as it was then (same mark: no commit, flush, compaction or project deletion
// since); else it logs why and rebuilds the index from the ids of the segments received within
// the window, as a start after a crash does. Either way the file is deleted (durably) before
// the engine takes a write, so a crash later never finds one that is out of date. The log's
// unflushed records are added on top in both cases (a snapshot holds them already).
//
// Deleted tenants: the snapshot keeps the epochs (see DedupIndex.keyOf), so ids of a project
// deleted before it stay new after the restart, and those its new project sent since stay
// known. A deletion after the snapshot changes the catalog's tombstones, so that snapshot is
// not used.

import type { Clock, Logger, StoredEvent } from '../core/index.ts';
import {
  checkSegmentsSince,
  type EventStore,
  markChange,
  type ReplayHandler,
  type StoreMark,
  segmentKeysSince,
} from '../storage/index.ts';
import { DedupIndex, type DedupOptions } from './dedup-index.ts';
import {
  readDedupSnapshot,
  removeDedupSnapshot,
  type SavedIndex,
  saveDedupSnapshot,
} from './dedup-snapshot.ts';

export interface DedupRecoveryOptions extends DedupOptions {
  dataDir: string;
  clock: Clock;
  log?: Logger;
}

/** The keys of the log records replayed as the store opens, kept until the index is known. */
export class ReplayedKeys {
  private readonly tenants: string[] = [];
  private readonly ids: string[] = [];
  private readonly times: number[] = [];

  readonly onReplay: ReplayHandler = (_seq, lines) => {
    for (const line of lines) {
      const e = JSON.parse(line) as StoredEvent;
      this.tenants.push(e.tenant);
      this.ids.push(e.event_id);
      this.times.push(e.received_at);
    }
  };

  addTo(index: DedupIndex, now: number): void {
    for (let i = 0; i < this.tenants.length; i++) {
      remember(
        index,
        this.tenants[i] as string,
        this.ids[i] as string,
        this.times[i] as number,
        now,
      );
    }
  }
}

/** The index of an opened store: from its snapshot, else rebuilt; with the replayed keys. */
export async function recoverDedupIndex(
  store: EventStore,
  replayed: ReplayedKeys,
  options: DedupRecoveryOptions,
): Promise<DedupIndex> {
  const { dataDir, clock, log, windowMs, keysMax, onShortened } = options;
  const indexOptions: DedupOptions = { windowMs, keysMax, onShortened };
  const now = clock.now();
  const startedAt = performance.now();
  const mark = store.mark();
  const snapshot = readDedupSnapshot(
    dataDir,
    indexOptions,
    (saved) => markChange(saved.mark, mark) ?? lessThanRebuild(saved, indexOptions, now),
  );
  // Before any write: a snapshot must never outlive the store state it was made for.
  removeDedupSnapshot(dataDir);
  const since = windowMs === 0 ? 0 : now - windowMs;
  let index: DedupIndex;
  if (snapshot.kind === 'read') {
    index = snapshot.index;
    // The segments whose ids a rebuild would read: one that cannot be read stops the start.
    const segments = await checkSegmentsSince(store, since);
    log?.info('deduplication index loaded from its snapshot', {
      keys: index.size,
      bytes: snapshot.bytes,
      segments_checked: segments,
      ms: Math.round(performance.now() - startedAt),
    });
  } else {
    if (snapshot.kind === 'unusable') {
      log?.warn('deduplication index snapshot not used: rebuilding it from the segments', {
        reason: snapshot.reason,
      });
    }
    index = new DedupIndex(indexOptions);
    await segmentKeysSince(store, since, (tenant, eventId, receivedAt) =>
      remember(index, tenant, eventId, receivedAt, now),
    );
  }
  replayed.addTo(index, now);
  // What expired while the node was down goes; a lower DEDUP_KEYS_MAX drops the oldest early.
  index.expire(now);
  index.makeRoom(0, now);
  return index;
}

/**
 * Why a rebuild would remember ids a snapshot lacks, or null: the index had forgotten the oldest
 * ids of the window early to stay within DEDUP_KEYS_MAX, and that limit is higher now. (With
 * the same or a lower one, a rebuild would forget as many.)
 */
function lessThanRebuild(saved: SavedIndex, options: DedupOptions, now: number): string | null {
  const { shortenedTo, keysMax } = saved;
  if (shortenedTo === null || options.keysMax <= keysMax) return null;
  if (options.windowMs > 0 && shortenedTo <= now - options.windowMs) return null; // expired
  return (
    `it had forgotten ids received before ${new Date(shortenedTo).toISOString()} to stay ` +
    `within DEDUP_KEYS_MAX=${keysMax}; a rebuild remembers more within ${options.keysMax}`
  );
}

/**
 * Adds a key read back at start within DEDUP_KEYS_MAX, as ingest keeps the index: once it is
 * full the oldest generations go early, and keys received before what is remembered then are
 * skipped. The window's segments hold every id the index forgot early at run time (at 100k ids
 * a second, billions in 7 days): taken all before trimming, they would need that much memory.
 */
function remember(
  index: DedupIndex,
  tenant: string,
  eventId: string,
  receivedAt: number,
  now: number,
): void {
  if (index.isExpired(receivedAt, now)) return;
  if (index.wouldOverflow(1)) index.makeRoom(1, now);
  const since = index.rememberedSince(now);
  if (since !== null && receivedAt < since) return;
  index.addNewest(index.keyOf(tenant, eventId), receivedAt);
}

/**
 * Writes the index's snapshot for the store's final `mark`, unless `notNow` says why it must
 * not be (work in flight, a failed log). A write that fails leaves no snapshot: the next start
 * rebuilds the index, as after a crash.
 */
export async function saveDedupIndex(
  index: DedupIndex,
  mark: StoreMark,
  notNow: string | null,
  options: Pick<DedupRecoveryOptions, 'dataDir' | 'clock' | 'log'>,
): Promise<void> {
  const { log } = options;
  if (notNow !== null) {
    log?.warn('deduplication index snapshot not written: the next start rebuilds it', {
      reason: notNow,
    });
    return;
  }
  const startedAt = performance.now();
  try {
    const bytes = await saveDedupSnapshot(options.dataDir, index, mark, options.clock.now());
    const ms = Math.round(performance.now() - startedAt);
    log?.info('deduplication index snapshot written', { keys: index.size, bytes, ms });
  } catch (error) {
    log?.warn('deduplication index snapshot not written: the next start rebuilds it', {
      reason: String(error),
    });
  }
}
