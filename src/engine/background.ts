// The engine's background work once it is open and serving: flushing the hot tier into
// segments, compaction, retention (at start, then on its interval), dedup expiry with
// idle-actor eviction, the live rollups' memory budget, and the purge of expired sessions.
// main.ts starts these timers and clears them at shutdown.

import { type Logger, retentionLimits } from '../core/index.ts';
import type { Engine } from './engine.ts';
import type { RetentionPass } from './retention.ts';

/** How often remembered event ids past DEDUP_WINDOW are forgotten (and idle actors evicted). */
export const DEDUP_EXPIRY_INTERVAL_MS = 60_000;
/** How often the live rollups' memory is held to ROLLUP_BYTES_MAX. */
const ROLLUP_BUDGET_INTERVAL_MS = 5_000;
const FLUSH_CHECK_INTERVAL_MS = 250;
/** How often expired refresh tokens and sessions are deleted. */
export const SESSION_PURGE_INTERVAL_MS = 60_000;

export interface TimerOptions {
  flushIntervalMs: number;
  /** Flush early once the hot tier holds this many bytes. */
  flushHotBytes: number;
  compactIntervalMs: number;
}

/**
 * Background work: flushing, compaction, retention, dedup expiry, actor eviction, and
 * `purgeSessions` (the accounts' expired sessions, in tally.sqlite).
 */
export function startTimers(
  engine: Engine,
  config: TimerOptions,
  log: Logger,
  retention: Pick<RetentionPass, 'run'>,
  purgeSessions: () => void = () => {},
): ReturnType<typeof setInterval>[] {
  const { store } = engine;
  let lastFlushAt = performance.now();
  const background = (what: string, work: () => Promise<unknown>) => {
    work().catch((error) => {
      // A failed flush or compaction leaves everything in the log; it is retried next time.
      // A failed retention pass deleted whole days or none of them; the next one goes on.
      log.error(`${what} failed`, { error: String(error) });
    });
  };
  background('retention', () => retention.run());
  return [
    setInterval(
      () => {
        const due = performance.now() - lastFlushAt >= config.flushIntervalMs;
        if (!due && store.hot.bytes < config.flushHotBytes) return;
        lastFlushAt = performance.now();
        background('flush', () => store.flusher.flush());
      },
      Math.min(FLUSH_CHECK_INTERVAL_MS, config.flushIntervalMs),
    ),
    setInterval(
      () => background('compaction', () => store.compactor.compact()),
      config.compactIntervalMs,
    ),
    setInterval(
      () => background('retention', () => retention.run()),
      retentionLimits.retentionPassIntervalMs,
    ),
    setInterval(() => {
      // By the engine's clock, which stamped the ids' receive times.
      engine.dedup.expire(engine.clock.now());
      engine.registry.evictIdle();
    }, DEDUP_EXPIRY_INTERVAL_MS),
    setInterval(() => {
      const { bytes, evicted } = engine.registry.fitBudget();
      if (evicted > 0) {
        log.info('live rollups over ROLLUP_BYTES_MAX: least active tenants evicted', {
          evicted,
          rollup_bytes: bytes,
        });
      }
    }, ROLLUP_BUDGET_INTERVAL_MS),
    setInterval(() => {
      try {
        purgeSessions();
      } catch (error) {
        // A write of SQLite's that failed (SQLITE_FULL on a full disk) deleted nothing; the
        // next round tries again. Thrown from the timer, it ended the process.
        log.warn('purge of expired sessions failed; retried next time', { error: String(error) });
      }
    }, SESSION_PURGE_INTERVAL_MS),
  ];
}
