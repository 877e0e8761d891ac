// A month's secret (engine.monthSecret, for Umami's session ids) is the same after a restart;
// those of months before the previous one are forgotten, so nothing links their ids later.

import { expect, test } from 'bun:test';
import { ManualClock } from '../../src/core/index.ts';
import { openEngine } from '../../src/engine/index.ts';
import { engineOptions } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

test('kept across a restart; a month before the previous one is forgotten', async () => {
  const { dir, remove } = makeTempDir('tally-month-secrets-');
  const at = (iso: string) => Date.parse(iso);
  const clock = new ManualClock(at('2026-11-25T12:00:00Z'));
  try {
    let engine = await openEngine(engineOptions(dir, clock));
    const november = engine.monthSecret('s', at('2026-11-01T00:00:00Z'));
    const october = engine.monthSecret('s', at('2026-10-31T23:59:59Z'));
    const september = engine.monthSecret('s', at('2026-09-15T00:00:00Z'));
    expect(new Set([november, october, september]).size).toBe(3);
    expect(engine.monthSecret('s', at('2026-11-30T23:00:00Z'))).toBe(november);
    expect(engine.monthSecret('other', at('2026-11-02T00:00:00Z'))).not.toBe(november);
    await engine.close();
    engine = await openEngine(engineOptions(dir, clock));
    expect(engine.monthSecret('s', at('2026-11-12T00:00:00Z'))).toBe(november);
    expect(engine.monthSecret('s', at('2026-10-01T00:00:00Z'))).toBe(october);
    // September is before October, the month before November: drawn anew.
    expect(engine.monthSecret('s', at('2026-09-15T00:00:00Z'))).not.toBe(september);
    await engine.close();
  } finally {
    remove();
  }
});

test('only the months an event can be stored in are kept; the others alike within a run', async () => {
  const { dir, remove } = makeTempDir('tally-month-secrets-');
  const at = (iso: string) => Date.parse(iso);
  const clock = new ManualClock(at('2026-11-25T12:00:00Z'));
  try {
    const engine = await openEngine(engineOptions(dir, clock));
    const kept = () =>
      (
        engine.store.sqlite
          .query("SELECT key FROM meta WHERE key LIKE 'secret:%' ORDER BY key")
          .all() as { key: string }[]
      ).map((row) => row.key);
    // An Umami item may name any second up to 9999 (its event is then refused as too far
    // ahead): such a month's secret was written to tally.sqlite for good, one row a month.
    const late = engine.monthSecret('s', at('9999-12-31T00:00:00Z'));
    engine.monthSecret('s', at('2026-11-25T12:00:00Z'));
    expect(kept()).toEqual(['secret:s:2026-11']);
    expect(engine.monthSecret('s', at('9999-12-01T00:00:00Z'))).toBe(late);
    // A backfill's months before the previous one: each was drawn anew once four others had
    // been asked since, so one visitor's events of one month got two sessions.
    const first = engine.monthSecret('s', at('2025-01-10T00:00:00Z'));
    for (let month = 2; month <= 6; month++) {
      engine.monthSecret('s', Date.UTC(2025, month - 1, 10));
    }
    expect(engine.monthSecret('s', at('2025-01-20T00:00:00Z'))).toBe(first);
    expect(kept()).toEqual(['secret:s:2026-11']);
    await engine.close();
  } finally {
    remove();
  }
});
