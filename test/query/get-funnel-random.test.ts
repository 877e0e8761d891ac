// getFunnel's SQL against a brute-force walk (test/helpers/funnel-oracle.ts) over random event
// sets: few actors, names and paths, many events of one millisecond, random steps, windows,
// ranges, actors and bots, half of each set flushed to a segment. The seed of a failing case is
// in the failure's message; FUNNEL_SEED=<seed> replays that one.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { type FunnelActor, type FunnelStep, getFunnel } from '../../src/query/index.ts';
import { type OracleOptions, oracleFunnel } from '../helpers/funnel-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-03-08T00:00:00Z');
const CASES = 60;
const NAMES = ['page_view', '$pageview', 'signup', 'login', 'buy'];
const PATHS = ['/', '/pricing', '/docs', null];
const ACTORS: FunnelActor[] = ['visitor', 'user', 'session'];

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
  // Times on a coarse grid of seconds, so that ties and window edges are common.
  const at = () => T + Math.floor(random() * 40) * 1000;
  const events: StoredEvent[] = [];
  const count = 1 + Math.floor(random() * 80);
  for (let i = 0; i < count; i++) {
    const person = pick(['a', 'b', 'c', 'd', 'e']);
    events.push(
      makeEvent({
        tenant,
        // Ids out of step with time, so that ties are broken by id, not by insertion.
        event_id: `${pick(['x', 'y', 'z'])}-${i}`,
        name: pick(NAMES),
        path: pick(PATHS),
        timestamp: at(),
        user_id: random() < 0.2 ? null : person,
        visitor_id: person,
        session_id: random() < 0.2 ? null : `${person}-${Math.floor(random() * 2)}`,
        is_bot: random() < 0.1,
      }),
    );
  }
  const stepOf = (): FunnelStep => {
    const kind = random();
    if (kind < 0.4) return { name: pick(NAMES) };
    const path = pick(PATHS.filter((p) => p !== null)) as string;
    return kind < 0.7 ? { path } : { name: pick(NAMES), path };
  };
  const steps = Array.from({ length: 2 + Math.floor(random() * 3) }, stepOf);
  const [a, b] = [at(), at()].sort((x, y) => x - y) as [number, number];
  const bounded = random() < 0.7;
  const options: OracleOptions = {
    steps,
    windowMs: (1 + Math.floor(random() * 20)) * 1000,
    by: pick(ACTORS),
    includeBots: random() < 0.3,
    ...(bounded ? { fromMs: a, toMs: b + 1000 } : {}),
  };
  return { tenant, events, options };
}

async function check(seed: number): Promise<void> {
  const { tenant, events, options } = randomCase(seed);
  const half = Math.floor(events.length / 2);
  await source.add(events.slice(0, half));
  await source.flush();
  await source.add(events.slice(half));
  const result = await getFunnel(source, tenant, {
    steps: options.steps,
    windowMs: options.windowMs,
    by: options.by,
    filters: { includeBots: options.includeBots, fromMs: options.fromMs, toMs: options.toMs },
  });
  const expected = oracleFunnel(events, tenant, options);
  const got = result.steps.map((s) => ({
    count: s.count,
    median: s.median_seconds_from_previous,
    avg: s.avg_seconds_from_previous,
  }));
  try {
    expect(got.map((s) => s.count)).toEqual(expected.map((s) => s.count));
    got.forEach((s, k) => {
      const want = expected[k];
      expect(s.median === null).toBe(want?.median === null);
      expect(s.median ?? 0).toBeCloseTo(want?.median ?? 0, 6);
      expect(s.avg ?? 0).toBeCloseTo(want?.avg ?? 0, 6);
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`seed ${seed} (FUNNEL_SEED=${seed}): ${JSON.stringify(options)}\n${message}`);
  }
}

test('the SQL agrees with a brute-force walk on random event sets', async () => {
  const replay = Bun.env.FUNNEL_SEED;
  const first = replay === undefined ? Math.floor(Math.random() * 1e9) : Number(replay);
  const seeds = replay === undefined ? Array.from({ length: CASES }, (_, i) => first + i) : [first];
  console.log(`funnel seeds ${seeds[0]}…${seeds[seeds.length - 1]}`);
  for (const seed of seeds) await check(seed);
});
