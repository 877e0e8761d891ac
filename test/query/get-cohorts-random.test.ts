// getCohorts' SQL against a brute-force count (test/helpers/cohort-oracle.ts) over random event
// sets: few actors, names and paths, times on a half-hour grid (so period boundaries are hit,
// and their last millisecond), zones with DST (whole- and half-hour) and without, every
// period, both kinds, every actor (devices shared across people), random ranges and nows,
// half of each set flushed to a segment. The seed of a failing case is in the failure's
// message; COHORT_SEED=<seed> replays that one. Then one fixed set of some 60,000 events over
// five years, at which size DuckDB plans differently.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getCohorts } from '../../src/query/index.ts';
import {
  type CohortOracleOptions,
  type OracleEvent,
  oracleCohorts,
} from '../helpers/cohort-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const CASES = 60;
const NAMES = ['page_view', '$pageview', 'signup', 'login', 'buy'];
const PATHS = ['/', '/pricing', null];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
/** Around a change of clocks in each hemisphere: late March and late October. */
const BASES = [Date.parse('2026-03-20T00:00:00Z'), Date.parse('2026-10-20T00:00:00Z')];
const HALF_HOUR = 1_800_000;
const SPAN_DAYS = { day: 8, week: 40, month: 150 } as const;
const PERIODS = ['day', 'week', 'month'] as const;

let source: MemorySource;
beforeAll(async () => {
  source = await createMemorySource();
});
afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

function randomCase(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const tenant = `t${seed}`;
  const period = pick(PERIODS);
  const base = pick(BASES);
  const spanMs = SPAN_DAYS[period] * 86_400_000;
  // Half hours (local midnights of every zone here), a millisecond early one time in five.
  const at = () =>
    base + Math.floor(random() * (spanMs / HALF_HOUR)) * HALF_HOUR - (random() < 0.2 ? 1 : 0);
  const events: StoredEvent[] = [];
  const count = 1 + Math.floor(random() * 80);
  for (let i = 0; i < count; i++) {
    const person = pick(['a', 'b', 'c', 'd', 'e', 'f']);
    events.push(
      makeEvent({
        tenant,
        name: pick(NAMES),
        path: pick(PATHS),
        // Some before the base, for first start events before the range.
        timestamp: random() < 0.1 ? at() - spanMs : at(),
        user_id: random() < 0.2 ? null : person,
        visitor_id: person,
        // A device of one person or another's, or none (by device: then the visitor).
        anonymous_id: random() < 0.3 ? null : pick(['d1', 'd2', 'd3', 'd4']),
        os: pick(['macOS', 'Linux']),
        is_bot: random() < 0.1,
      }),
    );
  }
  const eventOf = (): OracleEvent => {
    const kind = random();
    if (kind < 0.15) return 'any';
    if (kind < 0.6) return { name: pick(NAMES) };
    const path = pick(PATHS.filter((p) => p !== null)) as string;
    return kind < 0.8 ? { path } : { name: pick(NAMES), path };
  };
  const startEvent = eventOf();
  const [a, b] = [at(), at()].sort((x, y) => x - y) as [number, number];
  const options: CohortOracleOptions = {
    startEvent,
    returnEvent: random() < 0.4 ? startEvent : eventOf(),
    kind: random() < 0.5 ? 'recurring' : 'first',
    by: pick(['visitor', 'device', 'person', 'user'] as const),
    period,
    tz: pick(ZONES),
    periods: 1 + Math.floor(random() * 8),
    nowMs: random() < 0.5 ? base + spanMs * 2 : at(),
    includeBots: random() < 0.3,
    ...(random() < 0.7 ? { fromMs: a } : {}),
    ...(random() < 0.7 ? { toMs: b + HALF_HOUR } : {}),
    ...(random() < 0.2 ? { os: 'macOS' } : {}),
  };
  return { tenant, events, options };
}

async function check(seed: number): Promise<void> {
  const { tenant, events, options } = randomCase(seed);
  const half = Math.floor(events.length / 2);
  await source.add(events.slice(0, half));
  await source.flush();
  await source.add(events.slice(half));
  const { includeBots, os, ...rest } = options;
  const filters = { includeBots, ...(os === undefined ? {} : { equals: { os } }) };
  const result = await getCohorts(source, tenant, { ...rest, filters });
  const got = result.cohorts.map((c) => ({ date: c.start.slice(0, 10), returned: c.returned }));
  try {
    expect(got).toEqual(oracleCohorts(events, tenant, options));
    for (const c of result.cohorts) expect(c.size).toBe(c.returned[0] as number);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`seed ${seed} (COHORT_SEED=${seed}): ${JSON.stringify(options)}\n${message}`);
  }
}

test('the SQL agrees with a brute-force count on random event sets', async () => {
  const replay = Bun.env.COHORT_SEED;
  const first = replay === undefined ? Math.floor(Math.random() * 1e9) : Number(replay);
  const seeds = replay === undefined ? Array.from({ length: CASES }, (_, i) => first + i) : [first];
  console.log(`cohort seeds ${seeds[0]}…${seeds[seeds.length - 1]}`);
  for (const seed of seeds) await check(seed);
});

/**
 * Tens of thousands of events (DuckDB changes plans and join strategies with input size: the
 * funnel's ASOF join failed only past a few thousand rows), over years: reads through the
 * minute → period table and, for ranges too long for it or offsets with seconds, through the
 * events' own ASOF join; a third of the actors active most weeks, so cohorts are large and
 * returns cross the join's blocks.
 */
test('the SQL agrees with a brute-force count at a realistic size', async () => {
  const random = seededRandom(20_261_125);
  const tenant = 'big';
  const from = Date.parse('2021-06-01T00:00:00Z');
  const spanMs = 5 * 365 * 86_400_000;
  const events: StoredEvent[] = [];
  for (let i = 0; i < 3000; i++) {
    const person = `p${i}`;
    const count = i % 3 === 0 ? 40 : 1 + Math.floor(random() * 8);
    const home = from + random() * spanMs;
    for (let j = 0; j < count; j++) {
      // The active third anywhere in the five years; the others within ~100 days of their home.
      const at = i % 3 === 0 ? from + random() * spanMs : home + (random() - 0.5) * 2e10;
      events.push(
        makeEvent({
          tenant,
          name: random() < 0.7 ? 'page_view' : 'buy',
          timestamp: Math.floor(at / HALF_HOUR) * HALF_HOUR - (random() < 0.2 ? 1 : 0),
          user_id: random() < 0.1 ? null : person,
          visitor_id: person,
          is_bot: random() < 0.05,
        }),
      );
    }
  }
  await source.add(events.slice(0, 30_000));
  await source.flush();
  await source.add(events.slice(30_000));
  const nowMs = from + spanMs;
  const at = (iso: string) => Date.parse(iso);
  const views = { name: 'page_view' };
  const cases: CohortOracleOptions[] = [
    // Days and weeks of a year: the minute table; weeks of five years and months: events' own.
    ...(['day', 'week'] as const).map((period) => ({
      period,
      fromMs: at('2024-03-01T00:00:00Z'),
      toMs: at('2025-02-20T00:00:00Z'),
    })),
    { period: 'week' as const, fromMs: from, kind: 'first' as const },
    { period: 'month' as const, fromMs: from, tz: 'America/New_York', returnEvent: 'any' as const },
    { period: 'month' as const, fromMs: from, kind: 'first' as const, by: 'user' as const },
  ].map((c) => ({
    startEvent: views,
    returnEvent: views,
    kind: 'recurring',
    by: 'visitor',
    tz: 'Europe/Berlin',
    periods: 30,
    nowMs,
    includeBots: false,
    ...c,
  }));
  for (const options of cases) {
    const { includeBots, ...rest } = options;
    const result = await getCohorts(source, tenant, { ...rest, filters: { includeBots } });
    const got = result.cohorts.map((c) => ({ date: c.start.slice(0, 10), returned: c.returned }));
    const want = oracleCohorts(events, tenant, options);
    const returns = want.flatMap((c) => c.returned.slice(1));
    expect(returns.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(100);
    expect({ options, got }).toEqual({ options, got: want });
  }
}, 60_000);
