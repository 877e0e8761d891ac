// The live rollups against exact counts computed here, from what was sent: random batches on the
// test clock (late timestamps, timestamps up to 23 h ahead, bots, duplicate ids, metric points)
// with flushes, compactions, rebuilds, restarts and erasures in between. Every window's events,
// uniques (small enough for the sketch to be exact), per-name counts, top paths and latest
// metric values must be what the README's window rules give, whatever the actor went through.

import { afterEach, expect, test } from 'bun:test';
import type { RollupSnapshot } from '../../src/engine/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A metric point's timestamp is believed up to this far ahead of its receipt. */
const POINT_SKEW_MS = 5 * 60_000;

interface Sent {
  id: string;
  name: string;
  received: number;
  timestamp: number;
  bot: boolean;
  value: number | null;
  user: string;
  path: string;
}

/** Per window: [bucket ms, buckets] of the event counts, and of the uniques and top paths. */
const WINDOWS = {
  '1m': { events: [1000, 60], sketches: [10_000, 6] },
  '5m': { events: [1000, 300], sketches: [60_000, 5] },
  '1h': { events: [60_000, 60], sketches: [300_000, 12] },
  '24h': { events: [60_000, 1440], sketches: [HOUR_MS, 24] },
} as const;
type Window = keyof typeof WINDOWS;

const inView = (received: number, now: number, [ms, buckets]: readonly [number, number]) =>
  Math.floor(received / ms) > Math.floor(now / ms) - buckets;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What the rollups should show at `now`, computed from the events sent. */
function exact(sent: readonly Sent[], now: number) {
  const counted = sent.filter((e) => !e.bot);
  const windows = {} as Record<Window, unknown>;
  for (const w of Object.keys(WINDOWS) as Window[]) {
    const events = counted.filter((e) => inView(e.received, now, WINDOWS[w].events));
    const sketched = counted.filter((e) => inView(e.received, now, WINDOWS[w].sketches));
    const paths = new Map<string, number>();
    for (const e of sketched) {
      if (e.name === 'page_view') paths.set(e.path, (paths.get(e.path) ?? 0) + 1);
    }
    const names = new Map<string, number>();
    for (const e of events) names.set(e.name, (names.get(e.name) ?? 0) + 1);
    windows[w] = {
      events: events.length,
      uniques: new Set(sketched.map((e) => e.user)).size,
      top_paths: [...paths]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 10)
        .map(([path, views]) => ({ path, views })),
      names: Object.fromEntries(names),
    };
  }
  const latest = new Map<string, Sent>();
  const order = (e: Sent): [number, number] => [
    Math.min(e.timestamp, e.received + POINT_SKEW_MS),
    e.received,
  ];
  for (const e of sent) {
    const kept = latest.get(e.name);
    if (e.value === null) continue;
    const [at, received] = order(e);
    const [keptAt, keptReceived]: [number, number] =
      kept === undefined ? [-Infinity, -Infinity] : order(kept);
    const later =
      at !== keptAt
        ? at > keptAt
        : received !== keptReceived
          ? received > keptReceived
          : kept === undefined || Buffer.compare(Buffer.from(e.id), Buffer.from(kept.id)) > 0;
    if (later) latest.set(e.name, e);
  }
  const metrics: Record<string, number | null> = Object.fromEntries(
    [...latest].map(([name, e]) => [name, e.value]),
  );
  return { windows, metrics };
}

/** The same view of a rollup snapshot. */
function shown(s: RollupSnapshot) {
  const windows = {} as Record<Window, unknown>;
  for (const w of Object.keys(WINDOWS) as Window[]) {
    const names = s.names.filter((n) => n[w] > 0).map((n) => [n.name, n[w]]);
    windows[w] = {
      events: s.windows[w].events,
      uniques: s.windows[w].uniques,
      top_paths: s.windows[w].top_paths,
      names: Object.fromEntries(names),
    };
  }
  const metrics: Record<string, number | null> = Object.fromEntries(
    s.latest_metrics.map((m) => [m.name, m.value]),
  );
  return { windows, metrics };
}

test('live rollups equal exact counts across flushes, compactions, rebuilds, restarts and erasures', async () => {
  t = await makeTestApp();
  const app = t;
  const rand = rng(11);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)] as T;
  let sent: Sent[] = [];
  const ids = new Set<string>();
  const steps = { flush: 0, compact: 0, rebuild: 0, restart: 0, erasure: 0 };
  for (let step = 0; step < 400; step++) {
    // Seconds, minutes, or now and then hours: some 3 days in all, so events leave every window.
    const gap = rand();
    app.clock.advance(
      Math.floor(rand() * (gap < 0.5 ? 5_000 : gap < 0.95 ? 600_000 : 6 * HOUR_MS)),
    );
    const now = app.clock.now();
    const events = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => {
      const duplicate = rand() < 0.1 && sent.length > 0;
      const id = duplicate ? pick(sent).id : `e${ids.size}-${step}-${rand()}`;
      // 'disk' only in the first steps: past its day, a rebuild finds it in the older events.
      const metrics = step < 30 ? ['cpu', 'disk'] : ['cpu', 'mem'];
      const name = pick(['page_view', 'page_view', 'page_view', 'signup', ...metrics]);
      const value = metrics.includes(name) ? Math.floor(rand() * 100) : null;
      const r = rand();
      const timestamp =
        r < 0.2
          ? now - Math.floor(rand() * 40 * DAY_MS) // late: a backfill, days old
          : r < 0.3
            ? now + Math.floor(rand() * 23 * HOUR_MS) // a client clock far ahead
            : now - Math.floor(rand() * 1000);
      const e: Sent = {
        id,
        name,
        received: now,
        timestamp,
        bot: rand() < 0.1,
        value,
        user: `u${Math.floor(rand() * 30)}`,
        path: `/p${Math.floor(rand() * 15)}`,
      };
      if (!ids.has(id)) {
        ids.add(id);
        sent.push(e);
      }
      return {
        event_id: id,
        name,
        path: e.path,
        user_id: e.user,
        timestamp,
        ...(e.bot ? { user_agent: BOT } : {}),
        ...(value === null ? {} : { value }),
      };
    });
    expect((await app.post('/api/v1/events/batch', { events })).status).toBe(202);
    const r = rand();
    if (r < 0.05) {
      await app.engine.store.flusher.flush();
      steps.flush++;
    } else if (r < 0.07) {
      await app.engine.store.compactor.compact();
      steps.compact++;
    } else if (r < 0.09) {
      app.engine.registry.rebuild('default'); // as idle eviction or a retention pass does
      steps.rebuild++;
    } else if (r < 0.1) {
      await app.restart();
      steps.restart++;
    } else if (r < 0.12) {
      const person = `u${Math.floor(rand() * 30)}`;
      await app.engine.erasures.request('default', 'user_id', person);
      await app.engine.erasures.settled();
      sent = sent.filter((e) => e.user !== person);
      steps.erasure++;
    }
    if (step % 10 === 9) {
      const actor = app.engine.registry.actorFor('default');
      await actor?.whenReady();
      const snapshot = actor?.rollups.snapshot(app.clock.now()) as RollupSnapshot;
      expect([step, shown(snapshot)]).toEqual([step, exact(sent, app.clock.now())]);
    }
  }
  // Each kind of step happened, so the comparison covered it.
  expect(Object.values(steps).every((n) => n > 0)).toBe(true);
}, 120_000);
