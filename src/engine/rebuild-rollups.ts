// Refilling a new actor's rollups from the store: a day of the tenant's events, streamed, and
// the latest point of each metric. A rebuild whose actor was evicted or dropped meanwhile is
// stopped (its signal aborts): its running DuckDB statement is interrupted and no further one
// starts, so a day's read is not paid for counters nobody keeps.

import { type Clock, DAY_MS } from '../core/index.ts';
import {
  type EventSnapshot,
  type EventSource,
  interruptOnAbort,
  type TimeRange,
} from '../storage/index.ts';
import { CLOCK_SKEW_MS, type RollupEvent, type TenantRollups } from './rollups.ts';

export interface RebuildOptions {
  /**
   * Told the seq the read of recent events sees the log through (EventSnapshot.
   * visibleThroughSeq): commits above it are not counted here.
   */
  onRead?: (visibleThroughSeq: number) => void;
  /** Stops the rebuild (it rejects with the signal's reason): its actor evicted or dropped. */
  signal?: AbortSignal;
}

/**
 * Refills `rollups` from the store: events received in the last 24 h, whatever their event
 * time (the segments are picked by receipt, so a backfilled event counts as it did live), and
 * the latest value of every metric (see RebuildOptions).
 */
export async function rebuildRollups(
  source: EventSource,
  tenant: string,
  rollups: TenantRollups,
  nowMs: number,
  { onRead, signal }: RebuildOptions = {},
): Promise<void> {
  const since = nowMs - DAY_MS;
  await readStopping(source, tenant, { receivedSinceMs: since }, signal, async (snapshot) => {
    onRead?.(snapshot.visibleThroughSeq);
    // Streamed, one chunk of DuckDB's (2,048 rows) at a time: a day of a busy tenant's events
    // as objects all at once took gigabytes (3M events: ~3.8 GB), the rollups a few MB.
    const recent = await snapshot.connection.stream(
      `SELECT ${RECENT_COLUMNS.join(', ')} FROM ${snapshot.from} AS e
       WHERE received_at >= make_timestamptz($since::BIGINT) ORDER BY received_at`,
      { ...snapshot.params, since: BigInt(since) * 1000n },
    );
    // Each chunk as of its newest receipt when that is later than `nowMs` (the wall clock
    // stepped back since): the actor that counted them live had seen that time, and an event
    // received 'ahead' of `nowMs` would otherwise be left out as a future one, for good.
    let asOf = nowMs;
    for (;;) {
      signal?.throwIfAborted();
      const chunk = await recent.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const events = eventsOfChunk(chunk);
      asOf = Math.max(asOf, events[events.length - 1]?.received_at ?? asOf);
      rollups.apply(events, asOf);
    }
  });
  await readStopping(source, tenant, {}, signal, async (all) => {
    // Ordered as noteLatest orders points (a future timestamp as of its receipt, then receipt,
    // then event_id); the most recent metrics first, ties by name as forgetOldestMetric breaks
    // them (UTF-8 bytes here, UTF-16 units there: the same but for characters past U+FFFF),
    // as many as the rollups keep.
    const at = `least("timestamp", received_at + INTERVAL ${CLOCK_SKEW_MS} MILLISECOND)`;
    const order = `(${at}, received_at, event_id)`;
    const metrics = await all.connection.runAndReadAll(
      `SELECT name, arg_max(event_id, ${order}) AS event_id, arg_max(value, ${order}) AS value,
              epoch_ms(arg_max("timestamp", ${order})) AS "timestamp",
              epoch_ms(arg_max(received_at, ${order})) AS received_at,
              false AS is_bot, NULL AS path, '' AS visitor_id
       FROM ${all.from} AS e WHERE value IS NOT NULL GROUP BY name
       ORDER BY max(${at}) DESC, name DESC LIMIT ${rollups.metricsMax}`,
      all.params,
    );
    const rows = metrics.getRowObjectsJS();
    for (const row of rows) rollups.noteLatest(toEvent(row));
    if (rows.length >= rollups.metricsMax) rollups.noteMetricsLeftOut();
  });
}

/**
 * Runs `use` on a snapshot of `tenant`'s events in `range`, its statement interrupted once
 * `signal` aborts, and none started after (checked before each: an interrupt stops only the
 * one running); the snapshot released on every path.
 */
async function readStopping(
  source: EventSource,
  tenant: string,
  range: TimeRange,
  signal: AbortSignal | undefined,
  use: (snapshot: EventSnapshot) => Promise<void>,
): Promise<void> {
  signal?.throwIfAborted();
  const snapshot = await source.snapshot(tenant, range);
  const stopInterrupting = interruptOnAbort(snapshot.connection, signal);
  try {
    signal?.throwIfAborted();
    await use(snapshot);
  } finally {
    stopInterrupting();
    snapshot.release();
  }
}

/** How a rebuild ended (see rebuildUnlessStopped). */
export type RebuildEnd =
  | { kind: 'done'; seen: number | null }
  | { kind: 'failed'; seen: number | null; error: unknown }
  | { kind: 'stopped' };

/**
 * A new actor's rebuild (ActorRegistry.actorFor): rebuildRollups once `after` resolved, as of
 * then. Resolves, never rejects, with how it ended and the seq its read saw the log through
 * (null when it failed before reading); at once when `stop` aborts, not once the interrupted
 * statement settles: the commits the actor holds meanwhile count against
 * rebuildLimits.deferredBytesMax.
 */
export function rebuildUnlessStopped(
  source: EventSource,
  tenant: string,
  rollups: TenantRollups,
  clock: Clock,
  { after, stop }: { after: Promise<void> | null; stop: AbortSignal },
): Promise<RebuildEnd> {
  let seen: number | null = null;
  const onRead = (seq: number) => {
    seen = seq;
  };
  const read = (after ?? Promise.resolve()).then(() =>
    rebuildRollups(source, tenant, rollups, clock.now(), { onRead, signal: stop }),
  );
  const stopped = new Promise<void>((resolve) => {
    stop.addEventListener('abort', () => resolve(), { once: true });
  });
  return Promise.race([read, stopped]).then(
    (): RebuildEnd => (stop.aborted ? { kind: 'stopped' } : { kind: 'done', seen }),
    (error: unknown): RebuildEnd =>
      stop.aborted ? { kind: 'stopped' } : { kind: 'failed', seen, error },
  );
}

/** The columns of a rebuild's recent events, in the order `eventsOfChunk` reads them. */
const RECENT_COLUMNS = [
  'event_id',
  'name',
  'path',
  'visitor_id',
  'is_bot',
  'value',
  'epoch_ms(received_at)::DOUBLE AS received_at',
  'epoch_ms("timestamp")::DOUBLE AS "timestamp"',
];

/** One streamed chunk of RECENT_COLUMNS (a DuckDB data chunk) as events. */
function eventsOfChunk(chunk: {
  rowCount: number;
  getColumnValues(column: number): readonly unknown[];
}): RollupEvent[] {
  const [ids, names, paths, visitors, bots, values, received, stamps] = RECENT_COLUMNS.map((_, c) =>
    chunk.getColumnValues(c),
  ) as (readonly unknown[])[];
  return Array.from({ length: chunk.rowCount }, (_, i) =>
    toEvent({
      event_id: ids?.[i],
      name: names?.[i],
      path: paths?.[i],
      visitor_id: visitors?.[i],
      is_bot: bots?.[i],
      value: values?.[i],
      received_at: received?.[i],
      timestamp: stamps?.[i],
    }),
  );
}

function toEvent(row: Record<string, unknown>): RollupEvent {
  return {
    event_id: String(row.event_id),
    name: String(row.name),
    path: row.path === null ? null : String(row.path),
    visitor_id: String(row.visitor_id),
    is_bot: row.is_bot === true,
    value: row.value === null ? null : Number(row.value),
    received_at: Number(row.received_at),
    timestamp: Number(row.timestamp),
  };
}
