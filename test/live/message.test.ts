// Rendering live messages from real rollups, reading client messages, and the limit relations.

import { describe, expect, test } from 'bun:test';
import { Value } from '@sinclair/typebox/value';
import { loadConfig } from '../../src/config.ts';
import { InvariantError } from '../../src/core/index.ts';
import { OTHER_NAME, type RollupSnapshot } from '../../src/engine/index.ts';
import { type RollupEvent, TenantRollups } from '../../src/engine/rollups.ts';
import {
  checkLiveLimits,
  defaultLiveLimits,
  HEARTBEAT_INTERVAL_MS_MAX,
  heartbeatMessage,
  LiveServerMessage,
  renderSnapshotContent,
  snapshotMessage,
} from '../../src/live/index.ts';
import { parseClientMessage } from '../../src/live/message.ts';
import { LIVE_SILENCE_MAX_MS } from '../../web/live.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

/** One event named `name` (id `<name><i>`) received and timed at `atMs`. */
function named(name: string, i: number, atMs: number): RollupEvent {
  return {
    event_id: `${name}${i}`,
    name,
    path: null,
    visitor_id: 'v',
    is_bot: false,
    value: null,
    received_at: atMs,
    timestamp: atMs,
  };
}

function rollupsWith(events: Partial<RollupEvent>[]): TenantRollups {
  const rollups = new TenantRollups({ namesMax: 100, pathsMax: 100 });
  rollups.apply(
    events.map((e, i) => ({
      event_id: `e${i}`,
      name: 'page_view',
      path: null,
      visitor_id: `v${i % 4}`,
      is_bot: false,
      value: null,
      received_at: NOW - 30_000,
      timestamp: NOW - 30_000,
      ...e,
    })),
    NOW,
  );
  return rollups;
}

const render = (rollups: TenantRollups, names: string[] | null, shown = 50) =>
  JSON.parse(
    snapshotMessage(NOW, renderSnapshotContent('acme', rollups.snapshot(NOW), names, shown)),
  );

describe('snapshot messages', () => {
  const rollups = rollupsWith([
    { name: 'page_view', path: '/' },
    { name: 'page_view', path: '/' },
    { name: 'page_view', path: '/pricing' },
    { name: 'signup' },
    { name: 'cpu', value: 0.5, timestamp: NOW - 1000 },
    { name: 'mem', value: 12, timestamp: NOW - 500 },
    { name: 'old', received_at: NOW - 2 * 3_600_000 },
  ]);

  test('per window: events, uniques, rate, names and top paths; the schema holds', () => {
    const m = render(rollups, null);
    expect(Value.Check(LiveServerMessage, m)).toBe(true);
    expect(m).toMatchObject({ type: 'snapshot', at: NOW, tenant: 'acme', names_filter: null });
    expect(m.windows['1m']).toEqual({
      events: 6,
      uniques: 4,
      events_per_second: 0.1,
      names: [
        { name: 'page_view', events: 3 },
        { name: 'cpu', events: 1 },
        { name: 'mem', events: 1 },
        { name: 'signup', events: 1 },
      ],
      top_paths: [
        { path: '/', views: 2 },
        { path: '/pricing', views: 1 },
      ],
    });
    expect(m.windows['24h'].events).toBe(7);
    expect(m.windows['24h'].events_per_second).toBe(0.00008102);
    expect(m.events_per_second).toBe(0.1);
    expect(m.latest_metrics.map((x: { name: string }) => x.name)).toEqual(['mem', 'cpu']);
  });

  test('a names filter lists exactly the requested names, zeros included', () => {
    const m = render(rollups, ['cpu', 'refund']);
    expect(m.names_filter).toEqual(['cpu', 'refund']);
    expect(m.windows['5m'].names).toEqual([
      { name: 'cpu', events: 1 },
      { name: 'refund', events: 0 },
    ]);
    expect(m.windows['5m'].events).toBe(6);
    expect(m.latest_metrics).toEqual([
      { name: 'cpu', value: 0.5, timestamp: NOW - 1000, event_id: 'e4' },
    ]);
  });

  test('a filtered name counted under "(other)" is unknown, not 0', () => {
    const full = new TenantRollups({ namesMax: 3, pathsMax: 10 });
    const at = (age: number, name: string, i: number) => named(name, i, NOW - age);
    // Three names take the counters 2 h ago; later names share "(other)".
    full.apply(
      ['a', 'b', 'c'].map((name, i) => at(2 * 3_600_000, name, i)),
      NOW,
    );
    full.apply([at(30_000, 'purchase', 1), at(30_000, 'purchase', 2)], NOW);
    const m = JSON.parse(
      snapshotMessage(
        NOW,
        renderSnapshotContent('acme', full.snapshot(NOW), ['a', 'purchase'], 50),
      ),
    );
    expect(Value.Check(LiveServerMessage, m)).toBe(true);
    expect(m.windows['1m'].names).toEqual([
      { name: 'a', events: 0 },
      { name: 'purchase', events: null, in_other: true },
    ]);
    expect(m.windows['24h'].names).toEqual([
      { name: 'a', events: 1 },
      { name: 'purchase', events: null, in_other: true },
    ]);
    // Without an overflow in the window, a name with no counter truly had no event.
    const later = NOW + 10 * 60_000;
    const quiet = JSON.parse(renderSnapshotContent('acme', full.snapshot(later), ['purchase'], 50));
    expect(quiet.windows['5m'].names).toEqual([{ name: 'purchase', events: 0 }]);
  });

  test('a name that got its own counter after some of its events went to "(other)" says so', () => {
    const rollups = new TenantRollups({ namesMax: 1, pathsMax: 5 });
    const HOUR = 3_600_000;
    let now = NOW;
    const event = (name: string, i: number) => named(name, i, now);
    rollups.apply([event('a', 0)], now); // a takes the one named counter
    now += HOUR;
    rollups.apply([event('b', 1), event('b', 2), event('b', 3)], now); // b: under "(other)"
    now += 23 * HOUR + 2 * 60_000; // a's event left the 24 h; b's are 23 h old
    rollups.apply([event('b', 4)], now); // a's counter is pruned, b gets one of its own
    const render = (at: number) =>
      JSON.parse(renderSnapshotContent('acme', rollups.snapshot(at), ['b'], 50));
    const m = render(now);
    expect(Value.Check(LiveServerMessage, { type: 'snapshot', at: now, ...m })).toBe(true);
    // 4 events of b in 24 h, 3 of them counted under "(other)": 1 is a lower bound.
    expect(m.windows['24h'].names).toEqual([{ name: 'b', events: 1, in_other: true }]);
    expect(m.windows['1m'].names).toEqual([{ name: 'b', events: 1 }]); // "(other)" has none
    // Once the "(other)" events left the window, b's own count is whole again.
    const whole = render(now + 2 * HOUR);
    expect(whole.windows['24h'].names).toEqual([{ name: 'b', events: 1 }]);
  });

  // The names lookup is built once per snapshot, not once per window: the output stays what
  // it was, for every window, for several filters of one snapshot, and for a later snapshot.
  test('filtered windows from one snapshot, several filters and a later snapshot', () => {
    const w = (events: number) => ({ events, uniques: 1, top_paths: [] });
    const n = (name: string, partial: boolean, [m1, m5, h1, h24]: number[]) => ({
      name,
      partial,
      ...{ '1m': m1 as number, '5m': m5 as number, '1h': h1 as number, '24h': h24 as number },
      perSecond: 0,
    });
    const snapshot: RollupSnapshot = {
      windows: { '1m': w(3), '5m': w(9), '1h': w(40), '24h': w(400) },
      names: [
        n(OTHER_NAME, false, [0, 0, 7, 90]),
        n('signup', false, [1, 4, 10, 100]),
        n('late', true, [2, 2, 3, 3]),
        n('quiet', false, [0, 0, 0, 5]),
        n('page_view', false, [0, 3, 20, 202]),
      ],
      events_per_second: 0.05,
      latest_metrics: [],
    };
    const filter = ['late', 'never', 'page_view', 'quiet', 'signup'];
    const names = (content: string) =>
      Object.fromEntries(
        Object.entries(
          (JSON.parse(content) as { windows: Record<string, { names: unknown }> }).windows,
        ).map(([window, counters]) => [window, counters.names]),
      );
    const first = renderSnapshotContent('acme', snapshot, filter, 50);
    expect(names(first)).toEqual({
      '1m': [
        { name: 'late', events: 2 },
        { name: 'signup', events: 1 },
        { name: 'never', events: 0 },
        { name: 'page_view', events: 0 },
        { name: 'quiet', events: 0 },
      ],
      '5m': [
        { name: 'signup', events: 4 },
        { name: 'page_view', events: 3 },
        { name: 'late', events: 2 },
        { name: 'never', events: 0 },
        { name: 'quiet', events: 0 },
      ],
      '1h': [
        { name: 'page_view', events: 20 },
        { name: 'signup', events: 10 },
        { name: 'late', events: 3, in_other: true },
        { name: 'quiet', events: 0 },
        { name: 'never', events: null, in_other: true },
      ],
      '24h': [
        { name: 'page_view', events: 202 },
        { name: 'signup', events: 100 },
        { name: 'quiet', events: 5 },
        { name: 'late', events: 3, in_other: true },
        { name: 'never', events: null, in_other: true },
      ],
    });
    // The whole content, as rendered before the lookup was shared.
    expect(first).toBe(
      '{"tenant":"acme","names_filter":["late","never","page_view","quiet","signup"],' +
        '"events_per_second":0.05,"windows":{"1m":{"events":3,"uniques":1,' +
        '"events_per_second":0.05,"names":[{"name":"late","events":2},' +
        '{"name":"signup","events":1},{"name":"never","events":0},' +
        '{"name":"page_view","events":0},{"name":"quiet","events":0}],"top_paths":[]},' +
        '"5m":{"events":9,"uniques":1,"events_per_second":0.03,"names":[' +
        '{"name":"signup","events":4},{"name":"page_view","events":3},' +
        '{"name":"late","events":2},{"name":"never","events":0},{"name":"quiet","events":0}],' +
        '"top_paths":[]},"1h":{"events":40,"uniques":1,"events_per_second":0.01111,' +
        '"names":[{"name":"page_view","events":20},{"name":"signup","events":10},' +
        '{"name":"late","events":3,"in_other":true},{"name":"quiet","events":0},' +
        '{"name":"never","events":null,"in_other":true}],"top_paths":[]},' +
        '"24h":{"events":400,"uniques":1,"events_per_second":0.00463,"names":[' +
        '{"name":"page_view","events":202},{"name":"signup","events":100},' +
        '{"name":"quiet","events":5},{"name":"late","events":3,"in_other":true},' +
        '{"name":"never","events":null,"in_other":true}],"top_paths":[]}},' +
        '"latest_metrics":[]}',
    );
    // Another filter of the same snapshot reads the same lookup, rendered alike.
    expect(names(renderSnapshotContent('acme', snapshot, ['quiet'], 50))).toEqual({
      '1m': [{ name: 'quiet', events: 0 }],
      '5m': [{ name: 'quiet', events: 0 }],
      '1h': [{ name: 'quiet', events: 0 }],
      '24h': [{ name: 'quiet', events: 5 }],
    });
    expect(renderSnapshotContent('acme', snapshot, filter, 50)).toBe(first);
    // A later snapshot (new counts, a name gone) is read anew, never from the earlier lookup.
    const later: RollupSnapshot = {
      ...snapshot,
      names: [n('signup', false, [9, 9, 9, 9]), n('quiet', false, [0, 0, 0, 6])],
    };
    expect(names(renderSnapshotContent('acme', later, ['late', 'quiet', 'signup'], 50))).toEqual({
      '1m': [
        { name: 'signup', events: 9 },
        { name: 'late', events: 0 },
        { name: 'quiet', events: 0 },
      ],
      '5m': [
        { name: 'signup', events: 9 },
        { name: 'late', events: 0 },
        { name: 'quiet', events: 0 },
      ],
      '1h': [
        { name: 'signup', events: 9 },
        { name: 'late', events: 0 },
        { name: 'quiet', events: 0 },
      ],
      '24h': [
        { name: 'signup', events: 9 },
        { name: 'quiet', events: 6 },
        { name: 'late', events: 0 },
      ],
    });
  });

  test("a snapshot's names are looked up by a table built once, for every window and filter", () => {
    const rollups = rollupsWith([{ name: 'signup' }, { name: 'page_view' }]);
    const snapshot = rollups.snapshot(NOW);
    let walks = 0;
    const names = [...snapshot.names];
    // Counts the walks over the names that build a lookup (the renderer's only use of `map`).
    names.map = function (this: typeof names, ...args: Parameters<typeof names.map>) {
      walks++;
      return Array.prototype.map.apply(this, args);
    } as typeof names.map;
    const counted = { ...snapshot, names };
    const before = renderSnapshotContent('acme', snapshot, ['signup'], 50);
    expect(renderSnapshotContent('acme', counted, ['signup'], 50)).toBe(before);
    renderSnapshotContent('acme', counted, ['page_view', 'signup'], 50);
    expect(walks).toBe(1); // it was one per window of each message: 8
  });

  test('unfiltered lists are cut to namesShownMax', () => {
    const m = render(rollups, null, 2);
    expect(m.windows['1m'].names).toHaveLength(2);
    expect(m.latest_metrics).toHaveLength(2);
    // A filter lists every subscribed name, and the latest metric of each that has one.
    const filtered = render(rollups, ['cpu', 'mem', 'signup'], 1);
    expect(filtered.windows['1m'].names).toHaveLength(3);
    expect(filtered.latest_metrics.map((x: { name: string }) => x.name)).toEqual(['mem', 'cpu']);
  });

  test('heartbeats', () => {
    expect(JSON.parse(heartbeatMessage(NOW))).toEqual({ type: 'heartbeat', at: NOW });
  });
});

describe('client messages', () => {
  const limits = { subscribeNamesMax: 3, clientMessageBytesMax: 1024 };

  test('subscribe, with names de-duplicated and sorted, and unsubscribe', () => {
    expect(parseClientMessage('{"type":"subscribe"}', limits)).toEqual({
      kind: 'subscribe',
      names: null,
    });
    expect(parseClientMessage({ type: 'subscribe', names: ['b', 'a', 'b'] }, limits)).toEqual({
      kind: 'subscribe',
      names: ['a', 'b'],
    });
    expect(parseClientMessage({ type: 'unsubscribe' }, limits)).toEqual({ kind: 'unsubscribe' });
  });

  test('refusals', () => {
    const tooMany = parseClientMessage({ type: 'subscribe', names: ['a', 'b', 'c', 'd'] }, limits);
    expect(tooMany).toMatchObject({ kind: 'invalid', code: 'bad_request' });
    const big = parseClientMessage(`{"type":"subscribe","x":"${'x'.repeat(2000)}"}`, limits);
    expect(big).toMatchObject({ kind: 'invalid', code: 'payload_too_large' });
    expect(parseClientMessage('{', limits)).toMatchObject({ detail: 'a message must be JSON' });
    expect(parseClientMessage(42, limits)).toMatchObject({ kind: 'invalid' });
    // Binary frames: not JSON text, whatever their bytes and size under the limit.
    const binary = 'a message must be a JSON text frame, not a binary one';
    for (const frame of [Buffer.from('{"type":"subscribe"}'), Buffer.alloc(600)]) {
      expect(parseClientMessage(frame, limits)).toEqual({
        kind: 'invalid',
        code: 'bad_request',
        detail: binary,
      });
    }
    expect(parseClientMessage({ type: 'subscribe', names: [''] }, limits)).toMatchObject({
      detail: '/names/0: Expected string length greater or equal to 1',
    });
  });
});

describe('limits', () => {
  test('the defaults hold their relations; broken relations are refused', () => {
    expect(checkLiveLimits(defaultLiveLimits)).toBe(defaultLiveLimits);
    const broken = [
      { pushIntervalMs: 10, tickIntervalMs: 25 },
      { heartbeatIntervalMs: 500 },
      { heartbeatIntervalMs: 60_000 },
      { wsBufferedBytesMax: 32 * 1024 * 1024 },
      { wsBufferedBytesMax: 64 * 1024 }, // under one whole message (liveMessageBytesMax)
      { subscribersPerTenantMax: 100_000 },
    ];
    for (const change of broken) {
      expect(() => checkLiveLimits({ ...defaultLiveLimits, ...change })).toThrow(InvariantError);
    }
  });

  test('a quiet socket hears three heartbeats before the dashboard gives it up as dead', () => {
    // LIVE_HEARTBEAT_INTERVAL=60s was accepted: a tenant with nothing changing then sent
    // nothing for 60 s, and the dashboard dropped and reopened its socket every 45 s.
    expect(3 * HEARTBEAT_INTERVAL_MS_MAX).toBeLessThanOrEqual(LIVE_SILENCE_MAX_MS);
    expect(() => loadConfig({ LIVE_HEARTBEAT_INTERVAL: '60s' })).toThrow(
      'LIVE_HEARTBEAT_INTERVAL="60s": must be a duration from 2000ms to 15000ms',
    );
    const longest = loadConfig({ LIVE_HEARTBEAT_INTERVAL: '15s' }).live;
    expect(checkLiveLimits({ ...defaultLiveLimits, ...longest }).heartbeatIntervalMs).toBe(15_000);
  });
});
