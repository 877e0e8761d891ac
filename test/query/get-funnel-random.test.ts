// getFunnel's SQL against a brute-force walk (test/helpers/funnel-oracle.ts) over random event
// sets: few actors, names and paths, many events of one millisecond, random steps (some with a
// property condition), windows, ranges, actors (devices shared across people among them), bots
// and an os filter, and breakdowns by browser or property (values missing, null, empty, numbers,
// under `$posthog`; more values than are listed in large sets), half of each set flushed to a
// segment; and a few large sets (thousands of events of hundreds of actors), as DuckDB runs an
// ASOF join otherwise past some size. The seed of a failing case is in the failure's
// message; FUNNEL_SEED=<seed> (with FUNNEL_SIZE=large for a large set) replays that one.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  type FunnelActor,
  type FunnelStep,
  type FunnelStepResult,
  getFunnel,
  queryLimits,
} from '../../src/query/index.ts';
import {
  type OracleOptions,
  type OracleStep,
  oracleBreakdowns,
  oracleFunnel,
} from '../helpers/funnel-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-03-08T00:00:00Z');
const CASES = 60;
/** Large sets besides those: 2,500 to 5,500 events of 300 actors (see SIZES). */
const LARGE_CASES = 4;
const NAMES = ['page_view', '$pageview', 'signup', 'login', 'buy'];
const PATHS = ['/', '/pricing', '/docs', null];
const ACTORS: FunnelActor[] = ['visitor', 'device', 'person', 'user', 'session'];
const BROWSERS = ['Chrome', 'Firefox', ''];
const PLANS = ['pro', 'free'];

let source: MemorySource;
beforeAll(async () => {
  source = await createMemorySource();
});
afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

/** Actors, the seconds of the time grid and the most seconds of a window, by set size. */
const SIZES = {
  small: { events: [1, 80], actors: 5, seconds: 40, windowSeconds: 20, plans: 0 },
  large: { events: [2500, 5500], actors: 300, seconds: 4000, windowSeconds: 600, plans: 40 },
} as const;

const deviceId = (i: number) => (i === 0 ? 'undefined' : `d${i}`);

/**
 * A plan property: missing, JSON null, empty (no value), a number or boolean (compared and
 * broken down as their JSON text), else one of PLANS or of `plans` more values (past the
 * breakdown's listed ones); `$plan` under `$posthog` at times.
 */
function propertiesOf(random: () => number, plans: number): StoredEvent['properties'] {
  if (random() < 0.15) return null;
  const special = [null, '', 3, true];
  const i = Math.floor(random() * (special.length * 2 + PLANS.length + plans));
  const named = i - special.length * 2;
  const plan = i < special.length ? special[i] : (PLANS[named] ?? `plan-${named}`);
  return random() < 0.2 ? { $posthog: { $plan: plan } } : { plan, $plan: plan };
}

function randomCase(seed: number, size: keyof typeof SIZES) {
  const sized = SIZES[size];
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const tenant = `t${seed}`;
  // Times on a coarse grid of seconds, so that ties and window edges are common.
  const at = () => T + Math.floor(random() * sized.seconds) * 1000;
  const events: StoredEvent[] = [];
  const [fewest, most] = sized.events;
  const count = fewest + Math.floor(random() * (most - fewest + 1));
  for (let i = 0; i < count; i++) {
    const person = `p${Math.floor(random() * sized.actors)}`;
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
        // A device of one person or another's, or none (by device: then the visitor); device 0
        // a generic id, which links no one by person.
        anonymous_id: random() < 0.3 ? null : deviceId(Math.floor(random() * sized.actors)),
        session_id: random() < 0.2 ? null : `${person}-${Math.floor(random() * 2)}`,
        is_bot: random() < 0.1,
        os: random() < 0.5 ? 'iOS' : 'macOS',
        browser: pick(BROWSERS),
        properties: propertiesOf(random, sized.plans),
      }),
    );
  }
  const stepOf = (): FunnelStep => {
    const kind = random();
    if (kind < 0.4) return { name: pick(NAMES) };
    const path = pick(PATHS.filter((p) => p !== null)) as string;
    return kind < 0.7 ? { path } : { name: pick(NAMES), path };
  };
  const conditioned = (step: FunnelStep): FunnelStep => {
    if (random() >= 0.2) return step;
    return { ...step, properties: { [pick(['plan', '$plan'])]: pick([...PLANS, '3', 'true']) } };
  };
  const steps = Array.from({ length: 2 + Math.floor(random() * 3) }, () => conditioned(stepOf()));
  const breakdown = random();
  const [a, b] = [at(), at()].sort((x, y) => x - y) as [number, number];
  const bounded = random() < 0.7;
  const options: OracleOptions = {
    steps,
    windowMs: (1 + Math.floor(random() * sized.windowSeconds)) * 1000,
    by: pick(ACTORS),
    includeBots: random() < 0.3,
    ...(bounded ? { fromMs: a, toMs: b + 1000 } : {}),
    ...(random() < 0.2 ? { os: 'iOS' } : {}),
    ...(breakdown < 0.5
      ? {
          breakdown:
            breakdown < 0.2 ? { column: 'browser' } : { property: pick(['plan', '$plan']) },
        }
      : {}),
  };
  return { tenant, events, options };
}

async function check(seed: number, size: keyof typeof SIZES): Promise<void> {
  const { tenant, events, options } = randomCase(seed, size);
  const half = Math.floor(events.length / 2);
  await source.add(events.slice(0, half));
  await source.flush();
  await source.add(events.slice(half));
  const { includeBots, fromMs, toMs, os } = options;
  const result = await getFunnel(source, tenant, {
    steps: options.steps,
    windowMs: options.windowMs,
    by: options.by,
    breakdown: options.breakdown,
    filters: { includeBots, fromMs, toMs, ...(os === undefined ? {} : { equals: { os } }) },
  });
  const listed = queryLimits.funnelBreakdownValuesMax;
  try {
    expectSteps(result.steps, oracleFunnel(events, tenant, options));
    const entries =
      options.breakdown === undefined ? [] : oracleBreakdowns(events, tenant, options, listed);
    expect(result.breakdowns?.map((b) => [b.value, b.other, b.folded_values])).toEqual(
      options.breakdown === undefined
        ? undefined
        : entries.map((b) => [b.value, b.other, b.folded]),
    );
    for (const [i, entry] of entries.entries()) {
      expectSteps(result.breakdowns?.[i]?.steps ?? [], entry.steps);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const replay = `FUNNEL_SEED=${seed}${size === 'large' ? ' FUNNEL_SIZE=large' : ''}`;
    throw new Error(`seed ${seed} (${replay}): ${JSON.stringify(options)}\n${message}`);
  }
}

/** Counts equal, times within rounding (medians null alike). */
function expectSteps(got: FunnelStepResult[], expected: OracleStep[]): void {
  expect(got.map((s) => s.count)).toEqual(expected.map((s) => s.count));
  got.forEach((s, k) => {
    const want = expected[k];
    expect(s.median_seconds_from_previous === null).toBe(want?.median === null);
    expect(s.median_seconds_from_previous ?? 0).toBeCloseTo(want?.median ?? 0, 6);
    expect(s.avg_seconds_from_previous ?? 0).toBeCloseTo(want?.avg ?? 0, 6);
  });
}

/** The seeds of `cases` random sets of `size`, or the one FUNNEL_SEED (of FUNNEL_SIZE) replays. */
function seedsOf(size: keyof typeof SIZES, cases: number): number[] {
  const replay = Bun.env.FUNNEL_SEED;
  if (replay !== undefined)
    return (Bun.env.FUNNEL_SIZE ?? 'small') === size ? [Number(replay)] : [];
  const first = Math.floor(Math.random() * 1e9);
  console.log(`funnel ${size} seeds ${first}…${first + cases - 1}`);
  return Array.from({ length: cases }, (_, i) => first + i);
}

test('the SQL agrees with a brute-force walk on random event sets', async () => {
  for (const seed of seedsOf('small', CASES)) await check(seed, 'small');
});

test('and on large ones (thousands of entries: DuckDB joins them otherwise)', async () => {
  for (const seed of seedsOf('large', LARGE_CASES)) await check(seed, 'large');
});
