// The engine's background timers run by the engine's clock: dedup expiry through the timer
// drops ids once the injected clock passed their window, whatever the wall clock says. Each
// timer runs as often as the README says.

import { afterEach, expect, jest, spyOn, test } from 'bun:test';
import { createLogger, DAY_MS, HOUR_MS, ManualClock } from '../../src/core/index.ts';
import {
  DEDUP_EXPIRY_INTERVAL_MS,
  type Engine,
  openEngine,
  SESSION_PURGE_INTERVAL_MS,
  startTimers,
} from '../../src/engine/index.ts';
import { engineOptions } from '../helpers/app.ts';
import { makeEvent } from '../helpers/memory-source.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let engine: Engine | undefined;
let temp: ReturnType<typeof makeTempDir> | undefined;

afterEach(async () => {
  jest.useRealTimers();
  await engine?.close();
  engine = undefined;
  temp?.remove();
});

test('the dedup expiry timer expires ids by the engine clock, not the wall clock', async () => {
  temp = makeTempDir('tally-background-');
  // A month ahead of the wall clock: by Date.now() nothing received now would be expired.
  const clock = new ManualClock(Date.now() + 30 * DAY_MS);
  engine = await openEngine(engineOptions(temp.dir, clock, { dedupWindowMs: DAY_MS }));
  const outcome = await engine.ingestor.ingest([makeEvent({ timestamp: clock.now() })]);
  expect(outcome).toMatchObject({ kind: 'ok', accepted: 1 });
  expect(engine.dedup.size).toBe(1);
  clock.advance(3 * DAY_MS); // well past the window and its generation
  jest.useFakeTimers();
  const timers = startTimers(
    engine,
    { flushIntervalMs: DAY_MS, flushHotBytes: Number.MAX_SAFE_INTEGER, compactIntervalMs: DAY_MS },
    createLogger('silent'),
    { run: async () => [] },
  );
  try {
    jest.advanceTimersByTime(DEDUP_EXPIRY_INTERVAL_MS); // one dedup expiry round
  } finally {
    for (const timer of timers) clearInterval(timer);
  }
  expect(engine.dedup.size).toBe(0);
});

test('a purge of expired sessions that fails (a full disk) is logged; the timers go on', async () => {
  temp = makeTempDir('tally-background-');
  engine = await openEngine(engineOptions(temp.dir, new ManualClock(Date.now())));
  const lines: string[] = [];
  let purges = 0;
  const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  jest.useFakeTimers();
  const timers = startTimers(
    engine,
    { flushIntervalMs: DAY_MS, flushHotBytes: Number.MAX_SAFE_INTEGER, compactIntervalMs: DAY_MS },
    createLogger('info', (line) => lines.push(line)),
    { run: async () => [] },
    () => {
      purges++;
      throw full; // what SQLite's DELETE throws on a full disk
    },
  );
  try {
    // Thrown from the timer, the first round's error ended the server's process.
    jest.advanceTimersByTime(2 * SESSION_PURGE_INTERVAL_MS);
  } finally {
    for (const timer of timers) clearInterval(timer);
  }
  expect(purges).toBe(2);
  const failed = lines.filter((l) => l.includes('purge of expired sessions failed'));
  expect(failed).toHaveLength(2);
  expect(failed[0]).toContain('database or disk is full');
});

// README Limits: retention "runs at start and then every hour (not configurable)", and the live
// rollups are held to ROLLUP_BYTES_MAX "every 5 s".
test('retention runs at start, then every hour; the rollups budget is held every 5 s', async () => {
  temp = makeTempDir('tally-background-');
  engine = await openEngine(engineOptions(temp.dir, new ManualClock(Date.now())));
  let passes = 0;
  const fits = spyOn(engine.registry, 'fitBudget');
  jest.useFakeTimers();
  const timers = startTimers(
    engine,
    { flushIntervalMs: DAY_MS, flushHotBytes: Number.MAX_SAFE_INTEGER, compactIntervalMs: DAY_MS },
    createLogger('silent'),
    {
      run: async () => {
        passes++;
        return [];
      },
    },
  );
  try {
    expect([passes, fits.mock.calls.length]).toEqual([1, 0]);
    jest.advanceTimersByTime(5_000 - 1);
    expect(fits).toHaveBeenCalledTimes(0);
    jest.advanceTimersByTime(1);
    expect(fits).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(HOUR_MS - 5_000 - 1);
    expect(passes).toBe(1);
    jest.advanceTimersByTime(1);
    expect(passes).toBe(2);
    expect(fits).toHaveBeenCalledTimes(HOUR_MS / 5_000);
    jest.advanceTimersByTime(HOUR_MS);
    expect(passes).toBe(3);
  } finally {
    for (const timer of timers) clearInterval(timer);
    fits.mockRestore();
  }
});

// README, close code 1011: a failed rebuild of a tenant's counters "is retried within a
// minute": its actor is evicted by the idle sweep (evictIdle, which takes failed actors at
// once), and that sweep runs every minute.
test('the idle sweep, which retries failed rebuilds, runs every minute', async () => {
  temp = makeTempDir('tally-background-');
  engine = await openEngine(engineOptions(temp.dir, new ManualClock(Date.now())));
  const sweeps = spyOn(engine.registry, 'evictIdle');
  jest.useFakeTimers();
  const timers = startTimers(
    engine,
    { flushIntervalMs: DAY_MS, flushHotBytes: Number.MAX_SAFE_INTEGER, compactIntervalMs: DAY_MS },
    createLogger('silent'),
    { run: async () => [] },
  );
  try {
    jest.advanceTimersByTime(60_000 - 1);
    expect(sweeps).toHaveBeenCalledTimes(0);
    jest.advanceTimersByTime(1);
    expect(sweeps).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(60_000);
    expect(sweeps).toHaveBeenCalledTimes(2);
  } finally {
    for (const timer of timers) clearInterval(timer);
    sweeps.mockRestore();
  }
});
