// The range a read resolved, echoed in its answer in the zone of the read (null: unbounded).

import { formatInZone } from '../query/index.ts';

export function rangeEcho(range: { fromMs?: number; toMs?: number; tz: string }) {
  const iso = (ms: number | undefined) => (ms === undefined ? null : formatInZone(ms, range.tz));
  return { from: iso(range.fromMs), to: iso(range.toMs), tz: range.tz };
}
