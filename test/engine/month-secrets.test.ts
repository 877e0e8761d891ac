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
