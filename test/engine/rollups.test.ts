import { describe, expect, test } from 'bun:test';
import { loadConfig } from '../../src/config.ts';
import { rebuildRollups } from '../../src/engine/rebuild-rollups.ts';
import {
  type RollupEvent,
  TenantRollups,
  TRACKED_PATH_CHARS_MAX,
} from '../../src/engine/rollups.ts';
import { createMemorySource, makeEvent } from '../helpers/memory-source.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

function event(i: number, over: Partial<RollupEvent> = {}): RollupEvent {
  return {
    event_id: `e${i}`,
    name: 'page_view',
    path: `/p${i % 3}`,
    visitor_id: `v${i % 5}`,
    is_bot: false,
    value: null,
    received_at: NOW - 1000,
    timestamp: NOW - 1000,
    ...over,
  };
}

describe('TenantRollups', () => {
  test('counts per window and name, uniques, top paths of page views; bots left out', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const events = [
      ...Array.from({ length: 30 }, (_, i) => event(i)),
      ...Array.from({ length: 4 }, (_, i) => event(100 + i, { name: 'signup', path: '/join' })),
      event(200, { is_bot: true, path: '/bot' }),
      event(300, { received_at: NOW - 2 * 3_600_000, timestamp: NOW - 2 * 3_600_000 }),
    ];
    r.apply(events, NOW);
    const s = r.snapshot(NOW);
    expect(s.windows['1m'].events).toBe(34);
    expect(s.windows['24h'].events).toBe(35);
    expect(s.windows['1m'].uniques).toBe(5);
    expect(s.windows['1m'].top_paths).toEqual([
      { path: '/p0', views: 10 },
      { path: '/p1', views: 10 },
      { path: '/p2', views: 10 },
    ]);
    expect(s.windows['24h'].top_paths[0]).toEqual({ path: '/p0', views: 11 });
    expect(s.names.find((n) => n.name === 'signup')?.['1m']).toBe(4);
    expect(r.snapshot(NOW, ['signup']).names.map((n) => n.name)).toEqual(['signup']);
  });

  test('top paths count the four page-view names README lists, and no other event', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const views = ['page_view', 'pageview', '$pageview', 'page'];
    const others = ['signup', 'Page_View', '$screen', 'page_leave'];
    r.apply(
      [
        ...views.map((name, i) => event(i, { name, path: '/view' })),
        ...others.map((name, i) => event(10 + i, { name, path: '/other' })),
      ],
      NOW,
    );
    expect(r.snapshot(NOW).windows['1m'].top_paths).toEqual([{ path: '/view', views: 4 }]);
  });

  test('engagement beacons are not counted: no event, unique, name or path', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    r.apply([event(1), event(2, { name: '$engagement', visitor_id: 'other' })], NOW);
    const s = r.snapshot(NOW);
    expect(s.windows['1m'].events).toBe(1);
    expect(s.windows['1m'].uniques).toBe(1);
    expect(s.names.map((n) => n.name)).toEqual(['page_view']);
  });

  test('keeps the latest value of each metric by timestamp', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    r.apply([event(1, { name: 'cpu', value: 0.5, timestamp: NOW - 10 })], NOW);
    r.apply([event(2, { name: 'cpu', value: 0.9, timestamp: NOW - 20 })], NOW);
    expect(r.latestMetric('cpu')).toMatchObject({ value: 0.5, event_id: 'e1' });
    const before = r.version;
    r.apply([event(3, { name: 'cpu', value: 0.7, timestamp: NOW })], NOW);
    expect(r.latestMetric('cpu')).toMatchObject({ value: 0.7 });
    expect(r.version).toBeGreaterThan(before);
  });

  test('top paths track a long path by its first 256 characters', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const long = `/${'a'.repeat(2000)}`;
    r.apply([event(1, { path: long }), event(2, { path: `${long}b` })], NOW);
    const top = r.snapshot(NOW).windows['1m'].top_paths;
    expect(top).toEqual([{ path: `${long.slice(0, TRACKED_PATH_CHARS_MAX - 1)}…`, views: 2 }]);
  });

  test('a long path is never cut within a surrogate pair', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    // Two characters, then emoji of two units each: the 255th unit is the first half of one.
    const long = `/a${'😀'.repeat(1000)}`;
    r.apply([event(1, { path: long })], NOW);
    const [top] = r.snapshot(NOW).windows['1m'].top_paths;
    expect(top?.path).toBe(`/a${'😀'.repeat((TRACKED_PATH_CHARS_MAX - 4) / 2)}…`);
    expect(top?.path.isWellFormed()).toBe(true);
  });

  test('a point stamped far ahead does not hide the real ones that follow it', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const ahead = NOW + 23 * 3_600_000; // ingest takes up to 24 h ahead
    r.apply([event(1, { name: 'cpu', value: 99, timestamp: ahead, received_at: NOW })], NOW);
    expect(r.latestMetric('cpu')).toMatchObject({ value: 99 });
    const later = NOW + 10 * 60_000; // ten minutes on, a real point
    r.apply([event(2, { name: 'cpu', value: 0.4, timestamp: later, received_at: later })], later);
    expect(r.latestMetric('cpu')).toMatchObject({ value: 0.4 });
  });

  test('with every metric slot taken, a new metric replaces the one seen longest ago', () => {
    const r = new TenantRollups({ namesMax: 2, pathsMax: 10 });
    const point = (i: number, name: string, t: number) =>
      event(i, { name, value: i, timestamp: t, received_at: t });
    r.apply([point(1, 'old', NOW - 60_000), point(2, 'mid', NOW - 30_000)], NOW);
    r.apply([point(3, 'cpu_load', NOW)], NOW);
    expect(r.latestMetric('cpu_load')).toMatchObject({ value: 3 });
    expect(r.latestMetric('old')).toBeUndefined();
    expect(r.latestMetric('mid')).toMatchObject({ value: 2 });
    r.apply([point(4, 'stale', NOW - 3_600_000)], NOW); // older than every kept one: dropped
    expect(r.latestMetric('stale')).toBeUndefined();
  });
});

describe('TenantRollups.nextChangeAt', () => {
  test('without new events the snapshot stays the same until the time it names', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    // Sparse events over the last 25 h: a few per hour, some in the last minutes and seconds.
    const ages = [25 * 3_600_000, 23.5 * 3_600_000, 3_600_000 + 7_000, 599_000, 61_500, 9_000, 0];
    r.apply(
      ages.map((age, i) => event(i, { received_at: NOW - age, timestamp: NOW - age })),
      NOW,
    );
    let changes = 0;
    let at = NOW;
    let last = JSON.stringify(r.snapshot(at));
    let next = r.nextChangeAt(at);
    // Every 250 ms while seconds matter, then every 15 s (25 h at 250 ms would be slow).
    for (let t = NOW + 250; t <= NOW + 25 * 3_600_000; t += t < NOW + 700_000 ? 250 : 15_000) {
      const now = JSON.stringify(r.snapshot(t));
      if (t < next) expect(now).toBe(last);
      else {
        changes += now === last ? 0 : 1;
        last = now;
        at = t;
        next = r.nextChangeAt(at);
        expect(next).toBeGreaterThan(at);
      }
    }
    expect(changes).toBeGreaterThan(5);
    expect(r.nextChangeAt(at)).toBe(Number.POSITIVE_INFINITY);
  });
  test('after a clock step back, it names when events received before the step come back', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const ages = [3_600_000 + 7_000, 599_000, 61_500, 9_000, 0];
    r.apply(
      ages.map((age, i) => event(i, { received_at: NOW - age, timestamp: NOW - age })),
      NOW,
    );
    const back = NOW - 600_000 - 4_250; // NTP steps the clock back ten minutes and a bit
    r.apply([event(9, { received_at: back, timestamp: back })], back);
    let at = back;
    let last = JSON.stringify(r.snapshot(at));
    let next = r.nextChangeAt(at);
    const seen: number[] = [];
    for (let t = back + 250; t <= NOW + 120_000; t += 250) {
      const now = JSON.stringify(r.snapshot(t));
      if (t < next) expect(now).toBe(last);
      else {
        if (now !== last) seen.push(t);
        last = now;
        at = t;
        next = r.nextChangeAt(at);
        expect(next).toBeGreaterThan(at);
      }
    }
    // The events received in the last 9 s before the step are back in the 1m window at NOW.
    expect(seen).toContain(NOW);
    expect(r.snapshot(NOW).windows['1m'].events).toBe(2);
  });
});

describe('uniques after a clock step back', () => {
  test('count no visitor of events the window leaves out as future: never more than events', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const at = (age: number, i: number, visitor: string) =>
      event(i, { received_at: NOW - age, timestamp: NOW - age, visitor_id: visitor });
    // One visit at 11:30, then four visitors between 11:50:30 and 12:00, counted at 12:00.
    r.apply(
      [
        at(1_800_000, 0, 'v0'),
        ...[570_000, 400_000, 60_000, 0].map((a, i) => at(a, i + 1, `w${i}`)),
      ],
      NOW,
    );
    const back = NOW - 600_000 - 4_000; // NTP steps the clock back to 11:49:56
    r.apply([event(9, { received_at: back, timestamp: back, visitor_id: 'v9' })], back);
    const s = r.snapshot(back);
    expect(s.windows['24h'].events).toBe(2);
    // The hour from 11:00 holds the four visitors the counters leave out until 11:50:30 and
    // later: it is a future bucket; the 5-minute buckets of 1h hold the two counted events.
    expect(s.windows['24h'].uniques).toBe(0);
    expect(s.windows['1h']).toMatchObject({ events: 2, uniques: 2 });
    for (let t = back; t <= NOW + 60_000; t += 1000) {
      for (const w of ['1m', '5m', '1h', '24h'] as const) {
        const { events, uniques } = r.snapshot(t).windows[w];
        expect(uniques).toBeLessThanOrEqual(events);
      }
    }
    expect(r.snapshot(NOW).windows['24h']).toMatchObject({ events: 6, uniques: 6 });
  });
});

describe('uniques of visitors each seen once', () => {
  test('never more than the events they are the visitors of, though the estimate is', () => {
    // 1,000 page views of 1,000 visitors: the sketch estimates 1,005 (within its ~1 % error),
    // but no window can hold more visitors than events.
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    r.apply(
      Array.from({ length: 1000 }, (_, i) => event(i, { visitor_id: `visitor-${i}` })),
      NOW,
    );
    for (const w of ['1m', '5m', '1h', '24h'] as const) {
      expect(r.snapshot(NOW).windows[w]).toMatchObject({ events: 1000, uniques: 1000 });
    }
  });
});

describe('top paths after a clock step back', () => {
  test('show no view of events the window leaves out as future: never more than events', () => {
    const r = new TenantRollups({ namesMax: 10, pathsMax: 10 });
    const view = (i: number, at: number, path: string) =>
      event(i, { received_at: at, timestamp: at, path });
    // Page views at 11:59 and 12:00, counted at 12:00.
    r.apply([view(0, NOW - 60_000, '/future'), view(1, NOW, '/noon')], NOW);
    const back = NOW - 90_000; // NTP steps the clock back to 11:58:30
    r.apply([view(2, back, '/now')], back);
    const s = r.snapshot(back);
    expect(s.windows['24h'].events).toBe(1);
    // The hour from 11:00 and the 5 minutes from 11:55 hold the view at 11:59 the counters
    // leave out until then: future buckets; the minute from 11:58 of 5m holds only '/now'.
    expect(s.windows['24h'].top_paths).toEqual([]);
    expect(s.windows['1h'].top_paths).toEqual([]);
    expect(s.windows['5m'].top_paths).toEqual([{ path: '/now', views: 1 }]);
    let next = r.nextChangeAt(back);
    let last = JSON.stringify(r.snapshot(back));
    for (let t = back; t <= NOW + 60_000; t += 250) {
      const now = r.snapshot(t);
      for (const w of ['1m', '5m', '1h', '24h'] as const) {
        const views = now.windows[w].top_paths.reduce((sum, p) => sum + p.views, 0);
        expect(views).toBeLessThanOrEqual(now.windows[w].events);
      }
      if (t < next) expect(JSON.stringify(now)).toBe(last);
      else {
        last = JSON.stringify(now);
        next = r.nextChangeAt(t);
        expect(next).toBeGreaterThan(t);
      }
    }
    expect(r.snapshot(NOW).windows['24h'].top_paths).toEqual([
      { path: '/future', views: 1 },
      { path: '/noon', views: 1 },
      { path: '/now', views: 1 },
    ]);
  });
});

describe('latest metrics at the bound', () => {
  test('which metrics stay never depends on arrival order: ties go by name', () => {
    const at = Date.UTC(2026, 10, 26, 12);
    const point = (name: string, i: number) => ({
      event_id: `e${i}`,
      name,
      path: null,
      visitor_id: '',
      is_bot: false,
      value: 1,
      received_at: at,
      timestamp: at - 10_000,
    });
    for (const order of [
      ['b', 'c', 'a'],
      ['a', 'b', 'c'],
      ['c', 'a', 'b'],
    ]) {
      const rollups = new TenantRollups({ namesMax: 2, pathsMax: 10 });
      order.forEach((name, i) => {
        rollups.noteLatest(point(name, i));
      });
      const kept = rollups.snapshot(at).latest_metrics.map((m) => m.name);
      expect([order, kept.sort()]).toEqual([order, ['b', 'c']]);
    }
  });
});

describe('rebuildRollups', () => {
  test("reads a day's events a chunk at a time, and counts them as applying all at once", async () => {
    const source = await createMemorySource();
    try {
      // 5,000 events over the last 24 h (a busy tenant has millions: as objects all at once,
      // gigabytes), a metric point among them, and one older than the day.
      const events = Array.from({ length: 5_000 }, (_, i) =>
        makeEvent({
          timestamp: NOW - 86_000_000 + i * 17_000,
          path: `/p${i % 40}`,
          visitor_id: `v${i % 700}`,
          name: i % 10 === 0 ? 'signup' : 'page_view',
          value: i === 4_321 ? 42 : null,
        }),
      );
      await source.add([...events, makeEvent({ timestamp: NOW - 90_000_000 })]);
      const applied: number[] = [];
      const apply = TenantRollups.prototype.apply;
      TenantRollups.prototype.apply = function (this: TenantRollups, batch, nowMs) {
        applied.push(batch.length);
        apply.call(this, batch, nowMs);
      };
      const rebuilt = new TenantRollups({ namesMax: 10, pathsMax: 100 });
      try {
        await rebuildRollups(source, 'acme', rebuilt, NOW);
      } finally {
        TenantRollups.prototype.apply = apply;
      }
      expect(applied.reduce((a, b) => a + b, 0)).toBe(5_000);
      expect(Math.max(...applied)).toBeLessThanOrEqual(2_048);
      const whole = new TenantRollups({ namesMax: 10, pathsMax: 100 });
      whole.apply(events, NOW);
      for (const e of events.filter((e) => e.value !== null)) whole.noteLatest(e);
      expect(rebuilt.snapshot(NOW)).toEqual(whole.snapshot(NOW));
    } finally {
      source.close();
    }
  });
});

// README Limits: "Live rollups take memory per resident tenant: up to 47 top-path buckets ×
// ROLLUP_PATHS_MAX paths (each up to 256 characters), 47 HyperLogLog sketches of 16 KiB (~750
// KiB) and per-name counters of ~7 KB each (up to ROLLUP_NAMES_MAX + 2). Worst case at the
// defaults (all-distinct 256-character paths for 24 h), by those sizes: ~36 MiB per tenant".
test('at the default limits, a worst-case tenant is estimated at ~36 MiB', () => {
  const { rollupNamesMax, rollupPathsMax } = loadConfig({});
  const r = new TenantRollups({ namesMax: rollupNamesMax, pathsMax: rollupPathsMax });
  const MiB = 1024 * 1024;
  const empty = r.approxBytes;
  // A time in every bucket of every window (10 s × 6, 1 min × 5, 5 min × 12, 1 h × 24: 47),
  // each with more distinct visitors than a sparse sketch holds and more paths than kept.
  const buckets = [
    [10_000, 6],
    [60_000, 5],
    [300_000, 12],
    [3_600_000, 24],
  ] as const;
  const times = new Set(buckets.flatMap(([ms, n]) => Array.from({ length: n }, (_, k) => k * ms)));
  let i = 0;
  for (const ago of times) {
    const at = NOW - ago;
    const events = Array.from({ length: 2 * rollupPathsMax }, () => {
      i++;
      const path = `/${String(i).padEnd(TRACKED_PATH_CHARS_MAX - 1, 'x')}`;
      return event(i, { path, visitor_id: `v${i}`, received_at: at, timestamp: at });
    });
    r.apply(events, NOW);
  }
  const withPaths = r.approxBytes;
  // Every name counter taken (and the one of the others), each name a metric's latest value.
  const names = Array.from({ length: rollupNamesMax + 1 }, (_, n) =>
    event(n, { name: `name_${n}`, path: null, value: n, received_at: NOW, timestamp: NOW }),
  );
  r.apply(names, NOW);
  const all = r.approxBytes;
  // Top paths: 47 × 1,000 paths of 256 characters; sketches: 47 × 16 KiB (752 KiB).
  expect((withPaths - empty) / MiB).toBeGreaterThan(28);
  // ~7 KB a name's counter, and 400 B its metric's latest value.
  expect((all - withPaths) / (rollupNamesMax + 1)).toBeGreaterThan(7_000);
  expect((all - withPaths) / (rollupNamesMax + 1)).toBeLessThan(8_000);
  expect(Math.round(all / MiB)).toBe(36);
});
