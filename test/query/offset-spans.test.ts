// The offsets of a zone over a range (Umami's weekly traffic turns instants into local hours by
// them): found a change at a time through the runtime's own zone transitions, the same spans
// as a day-at-a-time search by Intl's offsets gives, DST, half hours and the zones whose rules
// DuckDB's tzdata and the runtime's hold differently (README, SQL) included.

import { describe, expect, test } from 'bun:test';
import { offsetSpans } from '../../src/query/time-buckets.ts';
import { type NextOffsetChange, nextOffsetChange } from '../../src/query/time-zone.ts';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
/** The widest range Umami's reads take: 20 years (umami-read-params.ts). */
const FROM = at('2006-11-28T07:59:59.500Z');
const TO = at('2026-11-28T08:00:00Z');

/** `nextOffsetChange`, counting its lookups. */
function counted(): { next: NextOffsetChange; lookups: () => number } {
  const next = nextOffsetChange;
  if (next === null) throw new Error('this runtime has Temporal (Bun 1.4.5)');
  let lookups = 0;
  return {
    next: (ms, tz) => {
      lookups++;
      return next(ms, tz);
    },
    lookups: () => lookups,
  };
}

describe('offsetSpans', () => {
  test('20 years: the spans of a day-at-a-time search, a lookup per change', () => {
    const zones = [
      'America/Vancouver',
      'America/Edmonton',
      'Europe/Berlin',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Pacific/Apia',
      'UTC',
    ];
    for (const tz of zones) {
      const { next, lookups } = counted();
      const spans = offsetSpans(FROM, TO, tz, next);
      expect({ tz, spans }).toEqual({ tz, spans: offsetSpans(FROM, TO, tz, null) });
      // One lookup per change, and the one that finds none left in the range.
      expect({ tz, lookups: lookups() }).toEqual({ tz, lookups: spans.starts.length });
    }
    const berlin = offsetSpans(FROM, TO, 'Europe/Berlin');
    expect(berlin.starts).toHaveLength(41); // 20 years of two changes, from winter time
    expect(berlin.starts[0]).toBe(at('2006-11-28T07:59:59Z'));
    expect(berlin.starts.slice(1, 3)).toEqual([
      at('2007-03-25T01:00:00Z'),
      at('2007-10-28T01:00:00Z'),
    ]);
    expect(berlin.offsets.slice(0, 3)).toEqual([HOUR, 2 * HOUR, HOUR]);
    expect(offsetSpans(FROM, TO, 'UTC')).toEqual({
      starts: [at('2006-11-28T07:59:59Z')],
      offsets: [0],
    });
  });

  test("Vancouver after 2026-11-01 by the runtime's rules, as every read buckets", () => {
    // The runtime's tzdata turns the clocks back to -08:00 on 2026-11-01; DuckDB's holds -07:00.
    const spans = offsetSpans(
      at('2026-10-01T00:00:00Z'),
      at('2026-12-01T00:00:00Z'),
      'America/Vancouver',
    );
    expect(spans).toEqual({
      starts: [at('2026-10-01T00:00:00Z'), at('2026-11-01T09:00:00Z')],
      offsets: [-7 * HOUR, -8 * HOUR],
    });
  });

  test("a change after which Intl reads the same offset is none; changes end at the range's end", () => {
    // A `next` naming every UTC midnight: Berlin's offset is the same across each.
    const midnights: NextOffsetChange = (ms) =>
      Math.floor(ms / (24 * HOUR)) * 24 * HOUR + 24 * HOUR;
    const from = at('2026-01-05T10:00:00Z');
    expect(offsetSpans(from, at('2026-01-09T00:00:00Z'), 'Europe/Berlin', midnights)).toEqual({
      starts: [from],
      offsets: [HOUR],
    });
    // A change at the range's end is outside it.
    const spring = at('2026-03-29T01:00:00Z');
    expect(offsetSpans(at('2026-03-01T00:00:00Z'), spring, 'Europe/Berlin').starts).toHaveLength(1);
    expect(offsetSpans(at('2026-03-01T00:00:00Z'), spring + 1, 'Europe/Berlin').starts).toEqual([
      at('2026-03-01T00:00:00Z'),
      spring,
    ]);
  });
});
