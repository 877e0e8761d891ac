// GET /api/v1/export over the real store: every stored field of hot and flushed events in each
// format (as GET /api/v1/events/{id} shows them; Parquet read back with DuckDB), the order across
// pages, the filters, CSV quoting, the answer's headers, its errors, and a client that goes away
// (the stream stops; the Parquet file is removed).

import { afterEach, describe, expect, jest, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { IDLE_TIMEOUT_S } from '../../src/http/listener.ts';
import { EXPORT_COLUMNS, queryLimits } from '../../src/query/index.ts';
import { withSnapshot } from '../../src/query/read.ts';
import { makeTestApp, T0, TEST_EXPORT_PAGE, type TestApp } from '../helpers/app.ts';
import { csvObjects } from '../helpers/csv.ts';
import { parquetOf } from '../helpers/parquet.ts';

type Exported = Record<string, unknown>;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const MINUTE = 60_000;
const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

async function send(app: TestApp, events: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    const res = await app.post('/api/v1/events/batch', { events: events.slice(i, i + 5000) });
    expect(res.status).toBe(202);
  }
  // A new actor's rebuild reads the store after its 202: done here, so that the snapshots the
  // tests below count and hold are the export's only.
  const tenants = new Set(events.map((e) => String(e.tenant_id ?? 'default')));
  for (const tenant of tenants) await app.engine.registry.peek(tenant)?.whenReady();
}

const ndjsonOf = (text: string): Exported[] =>
  text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Exported);

/** A presented value as a CSV field reads back: null absent, nested values as JSON text. */
const csvTextOf = (value: unknown) =>
  value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);

/** Temporary export files left in the data directory's staging directory. */
const tempFiles = (app: TestApp) =>
  fs.readdirSync(path.join(app.dataDir, 'staging')).filter((f) => f.startsWith('temp-'));

/**
 * Export files this process still holds open (Linux: /proc/self/fd), unlinked or not: a
 * Parquet export is unlinked once open, and its space is freed when its descriptor closes.
 */
function openExportFiles(app: TestApp): string[] {
  const prefix = path.join(app.dataDir, 'staging', 'temp-');
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(prefix) ? [target] : [];
    } catch {
      return []; // the descriptor of the listing itself, closed by now
    }
  });
}

/** The size of the one export file this process holds open. */
function openExportFileBytes(app: TestApp): number {
  const [file, ...more] = openExportFiles(app);
  expect(file).toBeDefined();
  expect(more).toEqual([]);
  const fd = fs.readdirSync('/proc/self/fd').find((n) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
    } catch {
      return false;
    }
  });
  return fs.statSync(`/proc/self/fd/${fd}`).size;
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(10);
  }
}

describe('every stored field of every event, in each format', () => {
  const varied = (i: number) => ({
    event_id: `ev-${i}`,
    name: i % 2 === 0 ? 'page_view' : 'signup',
    timestamp: new Date(T0 - (10 - i) * MINUTE).toISOString(),
    user_id: i % 3 === 0 ? `user-${i}` : undefined,
    anonymous_id: 'anon-1',
    session_id: `s-${i % 2}`,
    source: 'web',
    path: `/p/${i}`,
    referrer: 'https://news.ycombinator.com/',
    url: `https://shop.example/p/${i}?utm_source=hn`,
    user_agent: i === 4 ? BOT_UA : undefined,
    duration: i * 1.5,
    value: i === 3 ? 0.25 : undefined,
    properties: { plan: 'pro', cart: { items: i, tags: ['a', 'b'] }, ok: true },
  });

  test('NDJSON, CSV and Parquet of hot and flushed events match GET /api/v1/events/{id}', async () => {
    t = await makeTestApp();
    await send(t, [0, 2, 4, 6, 8].map(varied));
    await t.engine.store.flusher.flush();
    await send(t, [1, 3, 5, 7, 9].map(varied));

    const ndjson = await t.get('/api/v1/export');
    expect(ndjson.status).toBe(200);
    const events = ndjsonOf(await ndjson.text());
    expect(events.map((e) => e.event_id)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `ev-${i}`),
    );
    for (const event of events) {
      const one = await t.get(`/api/v1/events/${event.event_id}`);
      expect(event).toEqual((await one.json()) as Exported);
      expect(Object.keys(event)).toEqual([...EXPORT_COLUMNS]);
    }
    // Bots are in: an export is the raw data.
    expect(events.find((e) => e.event_id === 'ev-4')?.is_bot).toBe(true);

    const csv = await (await t.get('/api/v1/export?format=csv')).text();
    expect(csv.slice(0, csv.indexOf('\r\n'))).toBe(EXPORT_COLUMNS.join(','));
    const records = csvObjects(csv);
    expect(records).toEqual(
      events.map((e) => Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, csvTextOf(e[c])]))),
    );

    const parquet = await parquetOf(await t.get('/api/v1/export?format=parquet'));
    expect(parquet.columns.map(([name]) => name)).toEqual([...EXPORT_COLUMNS]);
    const types = Object.fromEntries(parquet.columns);
    expect(types.timestamp).toBe('TIMESTAMP WITH TIME ZONE');
    expect(types.received_at).toBe('TIMESTAMP WITH TIME ZONE');
    expect(types.properties).toBe('JSON');
    expect(types.is_bot).toBe('BOOLEAN');
    expect(types.duration).toBe('DOUBLE');
    expect(types.value).toBe('DOUBLE');
    // As the file records them (README "Parquet"): instants adjusted to UTC in microseconds,
    // properties a string column of the JSON logical type, every column zstd-compressed.
    for (const column of ['timestamp', 'received_at']) {
      expect(parquet.stored[column]?.type).toBe('INT64');
      expect(parquet.stored[column]?.logical).toMatch(/isAdjustedToUTC=1/);
      expect(parquet.stored[column]?.logical).toMatch(/MICROS=MicroSeconds\(\)/);
    }
    expect(parquet.stored.properties).toMatchObject({ type: 'BYTE_ARRAY', logical: 'JsonType()' });
    expect(Object.keys(parquet.stored)).toEqual([...EXPORT_COLUMNS]);
    for (const column of EXPORT_COLUMNS) {
      expect([column, parquet.stored[column]?.compressions]).toEqual([column, ['ZSTD']]);
    }
    const fromParquet = parquet.rows.map(
      (row): Exported => ({
        ...row,
        properties: row.properties === null ? null : JSON.parse(String(row.properties)),
      }),
    );
    expect(fromParquet).toEqual(events);
  });

  test('an export of no events: an empty NDJSON body, a CSV header, a Parquet file of no rows', async () => {
    t = await makeTestApp();
    expect(await (await t.get('/api/v1/export')).text()).toBe('');
    expect(await (await t.get('/api/v1/export?format=csv')).text()).toBe(
      `${EXPORT_COLUMNS.join(',')}\r\n`,
    );
    const parquet = await parquetOf(await t.get('/api/v1/export?format=parquet'));
    expect(parquet.columns.map(([name]) => name)).toEqual([...EXPORT_COLUMNS]);
    expect(parquet.rows).toEqual([]);
  });
});

describe('more events than one page', () => {
  test('every event once, by timestamp then event_id, in each format', async () => {
    t = await makeTestApp();
    const count = TEST_EXPORT_PAGE.rows * 2 + 500;
    // Timestamps in no order, many shared, so event_id decides within one millisecond.
    const events = Array.from({ length: count }, (_, i) => ({
      event_id: `e${String((i * 7919) % count).padStart(5, '0')}`,
      name: 'tick',
      timestamp: T0 - ((i * 31) % 97) * MINUTE,
    }));
    await send(t, events.slice(0, 1200));
    await t.engine.store.flusher.flush();
    await send(t, events.slice(1200));
    const expected = [...events]
      .sort((a, b) => a.timestamp - b.timestamp || (a.event_id < b.event_id ? -1 : 1))
      .map((e) => e.event_id);

    const { store } = t.engine;
    const snapshot = store.snapshot;
    let snapshots = 0;
    store.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot.call(store, tenant, range);
    };
    const ndjson = ndjsonOf(await (await t.get('/api/v1/export')).text());
    expect(ndjson.map((e) => e.event_id)).toEqual(expected);
    expect(snapshots).toBe(Math.ceil(count / TEST_EXPORT_PAGE.rows));
    const csv = csvObjects(await (await t.get('/api/v1/export?format=csv')).text());
    expect(csv.map((e) => e.event_id)).toEqual(expected);
    const parquet = await parquetOf(await t.get('/api/v1/export?format=parquet'));
    expect(parquet.rows.map((e) => e.event_id)).toEqual(expected);
  });
});

describe('filters and range', () => {
  // Unknown to every read's schema, anonymous_id= and visitor_id= were dropped: a person's export
  // asked for by the id an erasure takes (an access request) was every person's events, and
  // their stats, funnels and cohorts were everyone's.
  test("every read takes a person's ids as an erasure names them", async () => {
    t = await makeTestApp();
    await send(t, [
      { event_id: 'p1', name: 'view', anonymous_id: 'dev-1' },
      { event_id: 'p2', name: 'signup', anonymous_id: 'dev-1', user_id: 'u-9' },
      { event_id: 'p3', name: 'view', user_id: 'u-9' },
      { event_id: 'x1', name: 'view', user_agent: 'curl/8', ip: '203.0.113.5' },
    ]);
    const listed = async (query: string) => {
      const res = await (t as TestApp).get(`/api/v1/events?${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { events: { event_id: string }[] }).events
        .map((e) => e.event_id)
        .sort();
    };
    const exported = async (query: string) => {
      const res = await (t as TestApp).get(`/api/v1/export?${query}`);
      expect(res.status).toBe(200);
      return ndjsonOf(await res.text())
        .map((e) => String(e.event_id))
        .sort();
    };
    const x1 = (await (await t.get('/api/v1/events/x1')).json()) as { visitor_id: string };
    const hashed = x1.visitor_id;
    expect(hashed).toMatch(/^[0-9a-f]{32}$/);
    for (const read of [listed, exported]) {
      expect(await read('anonymous_id=dev-1')).toEqual(['p1', 'p2']);
      expect(await read('user_id=u-9')).toEqual(['p2', 'p3']);
      // An event's visitor is its user_id, else its anonymous_id, else the daily hash.
      expect(await read('visitor_id=u-9')).toEqual(['p2', 'p3']);
      expect(await read('visitor_id=dev-1')).toEqual(['p1']);
      expect(await read(`visitor_id=${hashed}`)).toEqual(['x1']);
      expect(await read('anonymous_id=nobody')).toEqual([]);
    }
    await t.engine.store.flusher.flush();
    expect(await exported('anonymous_id=dev-1')).toEqual(['p1', 'p2']);
    expect(await listed('visitor_id=dev-1')).toEqual(['p1']);
    // Stats, series, funnels and cohorts filter their events by the same ids.
    const read = async (path: string) => {
      const res = await (t as TestApp).get(path);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const range = 'from=2026-11-01&to=2026-12-01&bots=include';
    for (const [query, events] of [
      ['anonymous_id=dev-1', 2],
      ['visitor_id=u-9', 2],
      [`visitor_id=${hashed}`, 1],
      ['anonymous_id=nobody', 0],
    ] as const) {
      expect((await read(`/api/v1/stats?${range}&${query}`)).total_events).toBe(events);
      const series = await read(`/api/v1/timeseries?bucket=month&${range}&${query}`);
      const lines = series.series as { events: number }[];
      expect(lines.reduce((n, line) => n + line.events, 0)).toBe(events);
    }
    const funnel = await read(
      `/api/v1/funnel?step=name:view&step=name:signup&by=device&${range}&anonymous_id=dev-1`,
    );
    expect((funnel.steps as { count: number }[]).map((s) => s.count)).toEqual([1, 1]);
    const cohorts = await read(
      `/api/v1/cohorts?start=name:view&return=name:view&${range}&visitor_id=u-9`,
    );
    expect(JSON.stringify(cohorts)).toContain('"size":1');
  });

  test('name, user_id, anonymous_id, visitor_id, session_id, path, source, os, browser, device, country, property.<key>, from/to', async () => {
    t = await makeTestApp();
    await send(t, [
      { event_id: 'a', name: 'view', user_id: 'u1', session_id: 's1', path: '/x', source: 'web' },
      {
        event_id: 'b',
        name: 'buy',
        user_id: 'u2',
        anonymous_id: 'anon-1',
        properties: { plan: 'pro' },
      },
      { event_id: 'c', name: 'view', path: '/y', source: 'ios', user_agent: BOT_UA },
      { event_id: 'd', name: 'old', anonymous_id: 'anon-1', timestamp: '2026-11-20T10:00:00Z' },
    ]);
    await t.engine.store.flusher.flush();
    const ids = async (query: string) => {
      for (const format of ['csv', 'parquet'] as const) {
        const res = await t?.get(`/api/v1/export?format=${format}&${query}`);
        expect(res?.status).toBe(200);
        await res?.arrayBuffer();
      }
      const res = (await t?.get(`/api/v1/export?${query}`)) as Response;
      return ndjsonOf(await res.text()).map((e) => e.event_id);
    };
    expect(await ids('name=view')).toEqual(['a', 'c']);
    expect(await ids('user_id=u2')).toEqual(['b']);
    expect(await ids('session_id=s1')).toEqual(['a']);
    // The ids an erasure takes: a person's export (an access request) by the id erased by.
    expect(await ids('anonymous_id=anon-1')).toEqual(['d', 'b']);
    expect(await ids('visitor_id=u1')).toEqual(['a']);
    expect(await ids('visitor_id=anon-1')).toEqual(['d']);
    expect(await ids('anonymous_id=anon-1&user_id=u2')).toEqual(['b']);
    expect(await ids('path=/y')).toEqual(['c']);
    expect(await ids('source=ios')).toEqual(['c']);
    expect(await ids('property.plan=pro')).toEqual(['b']);
    expect(await ids('country=de')).toEqual([]);
    // The user agent's fields, as /stats filters them (dropped by the schema, they exported all).
    expect(await ids('device=bot')).toEqual(['c']);
    expect(await ids('device=other&os=Other&browser=Other')).toEqual(['d', 'a', 'b']);
    // Bots are in by default (the raw data); bots=exclude leaves them out, as stats do.
    expect(await ids('bots=include')).toEqual(['d', 'a', 'b', 'c']);
    expect(await ids('bots=exclude')).toEqual(['d', 'a', 'b']);
    expect(await ids('bots=exclude&device=bot')).toEqual(['c']);
    expect((await t.get('/api/v1/export?bots=maybe')).status).toBe(422);
    expect(await ids('from=2026-11-20&to=2026-11-21')).toEqual(['d']);
    // A bare date in `to` is its next local midnight: the range holds that whole day.
    expect(await ids('from=2026-11-20&to=2026-11-20')).toEqual(['d']);
    expect(await ids('to=2026-11-20T10:00:00Z')).toEqual([]);
    expect(await ids('from=2026-11-21T00:00:00Z')).toEqual(['a', 'b', 'c']);
    const parquet = await parquetOf(
      (await t.get('/api/v1/export?format=parquet&name=view')) as Response,
    );
    expect(parquet.rows.map((e) => e.event_id)).toEqual(['a', 'c']);
  });
});

describe('the answer', () => {
  test('its type, an attachment with a safe name, never cached', async () => {
    t = await makeTestApp();
    const types = {
      ndjson: 'application/x-ndjson',
      csv: 'text/csv; charset=utf-8',
      parquet: 'application/vnd.apache.parquet',
    };
    for (const [format, type] of Object.entries(types)) {
      const res = await t.get(`/api/v1/export?format=${format}&tenant_id=acme:eu.1`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="tally-acme_eu.1-20261125T120000Z.${format}"`,
      );
      expect(res.headers.get('cache-control')).toBe('no-store');
      await res.arrayBuffer();
    }
    const ndjson = await t.get('/api/v1/export');
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    await ndjson.text();
    // A long tenant: its first 64 characters, `:` written `_` as any other character.
    const long = await t.get(`/api/v1/export?tenant_id=${'a'.repeat(60)}:bcdefgh`);
    expect(long.headers.get('content-disposition')).toBe(
      `attachment; filename="tally-${'a'.repeat(60)}_bcd-20261125T120000Z.ndjson"`,
    );
    await long.text();
  });

  test('HEAD answers the headers and reads nothing', async () => {
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    const { store } = t.engine;
    const snapshot = store.snapshot;
    let snapshots = 0;
    store.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot.call(store, tenant, range);
    };
    for (const format of ['ndjson', 'parquet']) {
      const res = await t.app.handle(
        new Request(`http://localhost/api/v1/export?format=${format}`, { method: 'HEAD' }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain(`.${format}"`);
      expect(await res.text()).toBe('');
    }
    expect(snapshots).toBe(0);
    expect(openExportFiles(t)).toEqual([]);
  });

  test('over a socket: every format is sent chunked, and HEAD says so instead of a length', async () => {
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    const app = t.app;
    app.listen({ hostname: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${app.server?.port}/api/v1/export`;
      for (const format of ['ndjson', 'csv', 'parquet']) {
        // The handler claims no length: Bun sends a streamed body chunked whatever it says.
        const handled = await t.get(`/api/v1/export?format=${format}`);
        expect(handled.headers.get('content-length')).toBeNull();
        await handled.arrayBuffer();
        const got = await fetch(`${base}?format=${format}`);
        expect(got.headers.get('transfer-encoding')).toBe('chunked');
        expect(got.headers.get('content-length')).toBeNull();
        expect((await got.arrayBuffer()).byteLength).toBeGreaterThan(0);
        // HEAD: the GET's headers, not the `Content-Length: 0` of an empty body.
        const head = await fetch(`${base}?format=${format}`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-length')).toBeNull();
        expect(head.headers.get('transfer-encoding')).toBe('chunked');
        expect(head.headers.get('content-disposition')).toContain(`.${format}"`);
      }
    } finally {
      await app.stop(true);
    }
  });

  test('CSV quotes commas, quotes and line breaks (RFC 4180) and keeps Unicode', async () => {
    t = await makeTestApp();
    const tricky = {
      event_id: 'q,"1"',
      name: 'ünïcödé ☃ 𝄞 名前',
      user_id: 'say "hi", then\r\nleave',
      session_id: 'line1\nline2',
      path: '/a,b',
      properties: { note: 'x,"y"\nz', emoji: '🎉' },
    };
    await send(t, [tricky]);
    const text = await (await t.get('/api/v1/export?format=csv')).text();
    expect(text).toContain('"q,""1"""');
    expect(text).toContain('"say ""hi"", then\r\nleave"');
    const [record] = csvObjects(text);
    expect(record).toMatchObject({
      event_id: tricky.event_id,
      name: tricky.name,
      user_id: tricky.user_id,
      session_id: tricky.session_id,
      path: tricky.path,
      properties: JSON.stringify(tricky.properties),
    });
    // The same bytes as UTF-8, no byte order mark.
    const bytes = new Uint8Array(await (await t.get('/api/v1/export?format=csv')).arrayBuffer());
    expect(bytes.slice(0, 3)).not.toEqual(new Uint8Array([0xef, 0xbb, 0xbf]));
    expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(text);
  });
});

describe('errors', () => {
  test('a bad format is a 422 naming format and the formats', async () => {
    t = await makeTestApp();
    const res = await t.get('/api/v1/export?format=xlsx');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['query', 'format'],
          msg: 'format: must be one of ndjson, csv, parquet',
          type: 'value_error',
        },
      ],
    });
  });

  test('a visit filter is a 422 naming it, not an export of every event', async () => {
    t = await makeTestApp();
    await send(t, [{ name: 'page_view', path: '/', url: 'https://a.example/?utm_source=x' }]);
    const res = await t.get('/api/v1/export?channel=Email&utm_source=nope&name=page_view');
    expect(res.status).toBe(422);
    const filters =
      'name, user_id, anonymous_id, visitor_id, session_id, source, path, os, browser, device, ' +
      'country or property.<key>';
    expect(await res.json()).toEqual({
      detail: ['channel', 'utm_source'].map((name) => ({
        loc: ['query', name],
        msg: `an export takes no visit filters (${name}); filter its events by ${filters}`,
        type: 'extra_forbidden',
      })),
    });
    expect((await t.get('/api/v1/export?name=page_view')).status).toBe(200);
  });

  test('a bad range is a 422 as on every read', async () => {
    t = await makeTestApp();
    const bad = await t.get('/api/v1/export?from=yesterday');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: { loc: string[] }[] }).detail[0]?.loc).toEqual([
      'query',
      'from',
    ]);
    const reversed = await t.get('/api/v1/export?from=2026-11-25T00:00:00Z&to=2026-11-24');
    expect(await reversed.json()).toEqual({
      detail: [{ loc: ['query', 'to'], msg: 'to must be later than from', type: 'value_error' }],
    });
    expect((await t.get('/api/v1/export?tz=Mars/Olympus&from=2026-11-01')).status).toBe(422);
    expect((await t.get('/api/v1/export?tenant_id=a/b')).status).toBe(422);
  });

  test('a tenant whose reads and queue are full is a 429 before anything is sent', async () => {
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    const { store } = t.engine;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const places = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;
    const held = Array.from({ length: places }, () =>
      withSnapshot(store, DEFAULT_TENANT, {}, undefined, () => released),
    );
    for (const format of ['ndjson', 'parquet']) {
      const res = await t.get(`/api/v1/export?format=${format}`);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1'); // README Settings: RETRY_AFTER_SECONDS
      expect(((await res.json()) as { code: string }).code).toBe('tenant_overloaded');
    }
    release();
    await Promise.all(held);
    expect(tempFiles(t)).toEqual([]);
  });
});

describe('a full disk', () => {
  test('a Parquet export that finds no room is a 503 overloaded with Retry-After, no file left', async () => {
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    const { store } = t.engine;
    const snapshot = store.snapshot;
    store.snapshot = async (tenant, range) => {
      const taken = await snapshot.call(store, tenant, range);
      const run = taken.connection.run.bind(taken.connection);
      taken.connection.run = async (sql, ...rest) => {
        if (sql.trimStart().startsWith('COPY')) {
          // As DuckDB words ENOSPC (it gives no code).
          throw new Error('IO Error: Could not write file "x.parquet": No space left on device');
        }
        return run(sql, ...rest);
      };
      return taken;
    };
    const res = await t.get('/api/v1/export?format=parquet');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe('overloaded');
    expect(body.detail).toContain('export as ndjson or csv');
    expect(tempFiles(t)).toEqual([]);
    store.snapshot = snapshot; // NDJSON and CSV need no disk
    const csv = await t.get('/api/v1/export?format=csv');
    expect(csv.status).toBe(200);
    expect(csvObjects(await csv.text()).map((e) => e.event_id)).toEqual(['x']);
  });
});

describe('exports of one tenant at once', () => {
  const max = queryLimits.exportsPerTenantMax;

  /** An export's answer: 200 with its body unread, or the refusal's code. */
  async function start(app: TestApp, query = '') {
    const res = await app.get(`/api/v1/export${query}`);
    if (res.status === 200) return res;
    expect(res.status).toBe(429);
    // README Limits: "`429` beyond", with Retry-After (RETRY_AFTER_SECONDS).
    expect(res.headers.get('retry-after')).toBe('1');
    return ((await res.json()) as { code: string }).code;
  }

  test('at most exportsPerTenantMax are sent; each that ends, however, gives its place back', async () => {
    t = await makeTestApp();
    await send(t, [
      { event_id: 'a', name: 'a' },
      { event_id: 'b', name: 'b', tenant_id: 'globex' },
    ]);
    const formats = ['ndjson', 'csv', 'parquet'];
    const open = [];
    for (let i = 0; i < max; i++) open.push(await start(t, `?format=${formats[i % 3]}`));
    expect(open.every((res) => res instanceof Response)).toBe(true);
    for (const format of formats)
      expect(await start(t, `?format=${format}`)).toBe('tenant_overloaded');
    // Another tenant's exports, and a HEAD, are not counted.
    expect(await start(t, '?tenant_id=globex')).toBeInstanceOf(Response);
    const head = new Request('http://localhost/api/v1/export', { method: 'HEAD' });
    expect((await t.app.handle(head)).status).toBe(200);

    // Read to its end; cancelled; its client gone: each gives its place back.
    const [whole, cancelled, ...rest] = open as Response[];
    await whole?.text();
    const next = await start(t, '?format=parquet');
    expect(next).toBeInstanceOf(Response);
    expect(await start(t)).toBe('tenant_overloaded');
    await cancelled?.body?.cancel();
    const client = new AbortController();
    const request = new Request('http://localhost/api/v1/export?format=parquet', {
      signal: client.signal,
    });
    expect((await t.app.handle(request)).status).toBe(200);
    expect(await start(t)).toBe('tenant_overloaded');
    client.abort();
    const again = await start(t);
    expect(again).toBeInstanceOf(Response);
    for (const res of [...rest, next, again] as Response[]) await res.body?.cancel();
    // All given back: max at once again.
    const all = [];
    for (let i = 0; i < max; i++) all.push(await start(t, `?format=${formats[i % 3]}`));
    expect(all.every((res) => res instanceof Response)).toBe(true);
    for (const res of all as Response[]) await res.arrayBuffer();
  });

  test('one refused before its answer began (a full read queue) takes no place', async () => {
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const places = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;
    const held = Array.from({ length: places }, () =>
      withSnapshot(
        t?.engine.store as TestApp['engine']['store'],
        DEFAULT_TENANT,
        {},
        undefined,
        () => released,
      ),
    );
    for (let i = 0; i < max + 1; i++)
      expect(await start(t, '?format=parquet')).toBe('tenant_overloaded');
    release();
    await Promise.all(held);
    const all = [];
    for (let i = 0; i < max; i++) all.push(await start(t));
    expect(all.every((res) => res instanceof Response)).toBe(true);
    for (const res of all as Response[]) await res.text();
  });

  test('bodies left unread give their places back, at the latest once cut as stalled', async () => {
    // A body nobody reads, cancels or aborts (an in-process caller's, a client library's)
    // gives its place back once collected (export-stream.ts's finalizers), which the engine
    // schedules when it likes, and at the latest once its stall watch cuts it, which fake
    // timers bring forward: held here, so that no collection can come first, the answer does
    // not depend on the garbage collector (waiting for it took over 10 s on a loaded machine).
    t = await makeTestApp();
    await send(t, [{ event_id: 'x', name: 'a' }]);
    jest.useFakeTimers();
    try {
      const unread: Response[] = [];
      for (let i = 0; i < max; i++) {
        const res = await start(t, i % 2 === 0 ? '' : '?format=parquet');
        expect(res).toBeInstanceOf(Response);
        unread.push(res as Response);
      }
      expect(await start(t)).toBe('tenant_overloaded');
      jest.advanceTimersByTime(queryLimits.exportStallMsMax - 1);
      expect(await start(t)).toBe('tenant_overloaded');
      jest.advanceTimersByTime(1);
      // Every place is back: max at once again.
      const all = [];
      for (let i = 0; i < max; i++) all.push(await start(t, i % 2 === 0 ? '' : '?format=parquet'));
      expect(all.every((res) => res instanceof Response)).toBe(true);
      expect(await start(t)).toBe('tenant_overloaded');
      for (const res of all as Response[]) await res.arrayBuffer();
      expect(unread).toHaveLength(max); // held to here
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('a client that goes away', () => {
  /** Events whose properties do not compress: a Parquet export of several chunks. */
  const bulky = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      event_id: `big-${i}`,
      name: 'blob',
      properties: { noise: Array.from({ length: 8 }, () => crypto.randomUUID()).join('') },
    }));

  test('cancelling an NDJSON or CSV body stops the export: no further page is read', async () => {
    t = await makeTestApp();
    await send(t, bulky(TEST_EXPORT_PAGE.rows * 4));
    const { store } = t.engine;
    const snapshot = store.snapshot;
    let snapshots = 0;
    store.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot.call(store, tenant, range);
    };
    for (const format of ['ndjson', 'csv']) {
      const res = await t.get(`/api/v1/export?format=${format}`);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
      await Bun.sleep(50);
      const taken = snapshots;
      await Bun.sleep(100);
      // At most the page being read when it was cancelled; of 4 pages, not all.
      expect(snapshots).toBe(taken);
      expect(taken).toBeLessThan(4);
      snapshots = 0;
    }
    // Both places of the tenant's reads are free.
    const both = [0, 1].map(() =>
      withSnapshot(store, DEFAULT_TENANT, {}, undefined, async () => 1),
    );
    expect(await Promise.all(both)).toEqual([1, 1]);
  });

  test("its request-log line is written once the body ended, with the whole stream's duration", async () => {
    // An export streams for minutes; its line was written when the answer began (a 32 s export
    // over a slow link was logged with 806 ms), so the log showed no slow request.
    t = await makeTestApp();
    await send(t, bulky(TEST_EXPORT_PAGE.rows * 2));
    const exportLines = () =>
      (t as TestApp).logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'request' && l.path === '/api/v1/export');
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const startedAt = performance.now();
      const res = await t.get(`/api/v1/export?format=${format}`);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      const SLOW_CLIENT_MS = 300;
      await Bun.sleep(SLOW_CLIENT_MS); // the body is still being sent: no line yet
      expect([format, exportLines()]).toEqual([format, []]);
      while (!(await reader.read()).done) {}
      const tookMs = performance.now() - startedAt;
      await until(() => exportLines().length > 0, 'the line once the body ended');
      const [line, ...more] = exportLines();
      expect(more).toEqual([]);
      expect(line).toMatchObject({ method: 'GET', status: 200, tenant: DEFAULT_TENANT });
      expect(line?.duration_ms as number).toBeGreaterThanOrEqual(SLOW_CLIENT_MS);
      expect(line?.duration_ms as number).toBeLessThanOrEqual(tookMs + 50);
      t.logs.length = 0;
    }
    // One cancelled by its client is written at its end too.
    const res = await t.get('/api/v1/export');
    await (res.body as ReadableStream<Uint8Array>).cancel();
    await until(() => exportLines().length > 0, 'the line of a cancelled export');
    // README: its answer had begun, so it is logged 200 (not 499), once its body ended.
    expect(exportLines()).toMatchObject([{ status: 200 }]);
  });

  test('cancelling a Parquet body closes its file; so does an abort before it is read', async () => {
    t = await makeTestApp();
    await send(t, bulky(4000));
    const started = await t.get('/api/v1/export?format=parquet');
    // Unlinked once open: no name is left in the data directory, whatever happens next.
    expect(tempFiles(t)).toEqual([]);
    expect(openExportFiles(t)).toHaveLength(1);
    expect(openExportFileBytes(t)).toBeGreaterThan(queryLimits.exportFileChunkBytes);
    const reader = (started.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await until(() => openExportFiles(t as TestApp).length === 0, 'the file is closed');

    const client = new AbortController();
    const request = new Request('http://localhost/api/v1/export?format=parquet', {
      signal: client.signal,
    });
    const res = await t.app.handle(request);
    expect(res.status).toBe(200);
    expect(openExportFiles(t)).toHaveLength(1);
    client.abort();
    await until(() => openExportFiles(t as TestApp).length === 0, 'the file is closed');

    // Read to its end, it is closed too.
    const whole = await t.get('/api/v1/export?format=parquet');
    const bytes = openExportFileBytes(t);
    expect((await whole.arrayBuffer()).byteLength).toBe(bytes);
    await until(() => openExportFiles(t as TestApp).length === 0, 'the file is closed');
    expect(tempFiles(t)).toEqual([]);
  });

  test('a Parquet body dropped unread is closed once collected', async () => {
    t = await makeTestApp();
    await send(t, bulky(100));
    const app = t;
    await (async () => {
      const res = await app.get('/api/v1/export?format=parquet');
      expect(res.status).toBe(200);
    })();
    expect(openExportFiles(t)).toHaveLength(1);
    await until(() => {
      Bun.gc(true);
      return openExportFiles(app).length === 0;
    }, 'the dropped body is collected and its file closed');
  });

  test('a client gone while DuckDB writes the file leaves no file: 499', async () => {
    t = await makeTestApp();
    await send(t, bulky(4000));
    const { store } = t.engine;
    const client = new AbortController();
    // The client leaves as the copy starts (the COPY statement is interrupted, or, when it
    // ends first, the file it wrote is dropped before anything is sent).
    const snapshot = store.snapshot;
    let copies = 0;
    store.snapshot = async (tenant, range) => {
      const taken = await snapshot.call(store, tenant, range);
      const run = taken.connection.run.bind(taken.connection);
      taken.connection.run = (sql, ...rest) => {
        const running = run(sql, ...rest);
        if (sql.trimStart().startsWith('COPY')) {
          copies++;
          client.abort();
        }
        return running;
      };
      return taken;
    };
    const request = new Request('http://localhost/api/v1/export?format=parquet', {
      signal: client.signal,
    });
    expect((await t.app.handle(request)).status).toBe(499);
    expect(copies).toBe(1);
    expect(tempFiles(t)).toEqual([]);
    // When the copy ended first, its file was opened and is closed asynchronously.
    await until(() => openExportFiles(t as TestApp).length === 0, 'the file is closed');
  });

  test('over a socket: a copy or a page slower than the idle timeout is not cut; it is back after', async () => {
    t = await makeTestApp();
    await send(t, bulky(TEST_EXPORT_PAGE.rows + 1));
    const { store } = t.engine;
    // Bun closes a connection idle for 1–2 s here; the copy and the second page take 2.5 s.
    const slowMs = 2500;
    const snapshot = store.snapshot;
    let snapshots = 0;
    store.snapshot = async (tenant, range) => {
      const taken = await snapshot.call(store, tenant, range);
      if (++snapshots === 3) await Bun.sleep(slowMs); // the NDJSON export's second page
      const run = taken.connection.run.bind(taken.connection);
      taken.connection.run = async (sql, ...rest) => {
        if (sql.trimStart().startsWith('COPY')) await Bun.sleep(slowMs);
        return run(sql, ...rest);
      };
      return taken;
    };
    const app = t.app;
    app.listen({ hostname: '127.0.0.1', port: 0, idleTimeout: 1 });
    try {
      const server = app.server as NonNullable<typeof app.server>;
      const timeouts: number[] = [];
      const timeout = server.timeout.bind(server);
      server.timeout = (request, seconds) => {
        timeouts.push(seconds);
        timeout(request, seconds);
      };
      const base = `http://127.0.0.1:${server.port}/api/v1/export`;
      const parquet = await fetch(`${base}?format=parquet`);
      expect(parquet.status).toBe(200);
      expect((await parquetOf(parquet)).rows).toHaveLength(TEST_EXPORT_PAGE.rows + 1);
      const ndjson = await fetch(base);
      expect(ndjson.status).toBe(200);
      expect(ndjsonOf(await ndjson.text())).toHaveLength(TEST_EXPORT_PAGE.rows + 1);
      expect(snapshots).toBe(3);
      // Off for the copy, the first page, the second and the read that finds the end; back to
      // the idle timeout after each, so a client that reads nothing is still dropped.
      expect(timeouts).toEqual(Array.from({ length: 4 }, () => [0, IDLE_TIMEOUT_S]).flat());
    } finally {
      await app.stop(true);
    }
  });

  test('over a socket: a client that disconnects mid-export stops it and leaves no file', async () => {
    t = await makeTestApp();
    // Pages far more than the socket's buffers hold: the export cannot end before the abort.
    const pages = 10;
    await send(t, bulky(TEST_EXPORT_PAGE.rows * pages));
    const app = t.app;
    app.listen({ hostname: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${app.server?.port}`;
      const { store } = t.engine;
      const snapshot = store.snapshot;
      let snapshots = 0;
      store.snapshot = (tenant, range) => {
        snapshots++;
        return snapshot.call(store, tenant, range);
      };
      for (const format of ['parquet', 'ndjson']) {
        const client = new AbortController();
        const res = await fetch(`${base}/api/v1/export?format=${format}`, {
          signal: client.signal,
        });
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        expect((await reader.read()).done).toBe(false);
        client.abort();
        await until(() => openExportFiles(t as TestApp).length === 0, 'the file is closed');
        await Bun.sleep(100);
        const taken = snapshots;
        await Bun.sleep(200);
        expect(snapshots).toBe(taken);
      }
      // A Parquet copy and the NDJSON pages read before the abort, not all of them.
      expect(snapshots).toBeLessThan(1 + pages);
      const logged = t.logs.filter((l) => l.includes('export failed'));
      expect(logged).toEqual([]);
    } finally {
      await app.stop(true);
    }
  });
});

describe('a failure once the answer began', () => {
  test('over a socket: the chunked body is cut without its end, and the failure logged', async () => {
    // README: "a failure cuts the connection without the end of the chunked body … so an
    // incomplete export never looks whole; the server logs `an export failed while being
    // sent`".
    t = await makeTestApp();
    await send(
      t,
      Array.from({ length: TEST_EXPORT_PAGE.rows * 3 }, (_, i) => ({ event_id: `e-${i}` })).map(
        (e) => ({ ...e, name: 'view' }),
      ),
    );
    const { store } = t.engine;
    const snapshot = store.snapshot;
    let snapshots = 0;
    // The first page reads; every later one fails, as a database error would.
    store.snapshot = (tenant, range) => {
      if (++snapshots > 1) return Promise.reject(new Error('disk I/O error (injected)'));
      return snapshot.call(store, tenant, range);
    };
    const app = t.app;
    app.listen({ hostname: '127.0.0.1', port: 0 });
    try {
      for (const format of ['ndjson', 'csv']) {
        snapshots = 0;
        const res = await fetch(
          `http://127.0.0.1:${app.server?.port}/api/v1/export?format=${format}`,
        );
        expect(res.status).toBe(200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const cut = await (async () => {
          try {
            while (!(await reader.read()).done) {}
            return null;
          } catch (error) {
            return error;
          }
        })();
        // The answer had begun (200); its body then ended as a broken transfer, not as a whole
        // one. (What of the first page reached the client before the cut depends on when the
        // socket closed: a reset may drop what it had not yet taken.)
        expect([format, cut instanceof Error]).toEqual([format, true]);
      }
      const logged = t.logs.filter((l) => l.includes('an export failed while being sent'));
      expect(logged).toHaveLength(2);
      expect(logged[0]).toContain('disk I/O error (injected)');
    } finally {
      await app.stop(true);
    }
  });
});

describe('an erasure while an export is sent', () => {
  test('takes its events out of the NDJSON pages read after it', async () => {
    // README: "For NDJSON and CSV, an erasure … that runs meanwhile takes its events out of
    // the pages read after it as out of any other read".
    t = await makeTestApp();
    const count = TEST_EXPORT_PAGE.rows * 4;
    await send(
      t,
      Array.from({ length: count }, (_, i) => ({
        event_id: `e-${String(i).padStart(5, '0')}`,
        name: 'view',
        user_id: i % 2 === 0 ? 'u1' : 'u2',
        timestamp: new Date(T0 - (count - i) * 1000).toISOString(),
      })),
    );
    await t.engine.store.flusher.flush();
    const res = await t.get('/api/v1/export');
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.split('\n').length <= TEST_EXPORT_PAGE.rows) {
      const chunk = await reader.read();
      expect(chunk.done).toBe(false);
      text += decoder.decode(chunk.value, { stream: true });
    }
    const accepted = await t.engine.erasures.request(DEFAULT_TENANT, 'user_id', 'u1');
    await t.engine.erasures.settled();
    // Done, or pending only for the files of the segments it replaced while a read (the page
    // read ahead) holds them: either way later reads find the rewritten segments.
    const erasure = t.engine.erasures.get(DEFAULT_TENANT, accepted.id);
    expect(erasure?.segmentsRewritten).toBeGreaterThan(0);
    expect(['done', 'pending']).toContain(erasure?.status as string);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
    }
    const users = ndjsonOf(text).map((e) => e.user_id);
    // The first page, read before the erasure, holds both. The loop above took the start of
    // the second, so it was being sent and the third may have been read ahead (the page sent
    // and the next are what the server holds): those two may hold u1 too. The fourth page's
    // events were read after the erasure: its u2 half ends the export, and no u1 is left of it.
    const { rows } = TEST_EXPORT_PAGE;
    expect(users.slice(0, rows).filter((u) => u === 'u1')).toHaveLength(rows / 2);
    expect(users.slice(-rows / 2)).toEqual(Array.from({ length: rows / 2 }, () => 'u2'));
    expect(users.length).toBeLessThanOrEqual(count - rows / 2);
  });
});

describe('a client that takes nothing for a while', () => {
  test('holds no snapshot and no read place: the page sent and the next are all read', async () => {
    // README: "the page being sent and the next are all the server holds, and a slow client
    // holds no read place and no snapshot".
    t = await makeTestApp();
    await send(
      t,
      Array.from({ length: TEST_EXPORT_PAGE.rows * 5 }, (_, i) => ({
        event_id: `e-${String(i).padStart(5, '0')}`,
        name: 'view',
      })),
    );
    const { store } = t.engine;
    const snapshot = store.snapshot;
    let taken = 0;
    let held = 0;
    store.snapshot = async (tenant, range) => {
      const one = await snapshot.call(store, tenant, range);
      taken++;
      held++;
      const release = one.release.bind(one);
      one.release = () => {
        held--;
        release();
      };
      return one;
    };
    const res = await t.get('/api/v1/export');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(first.done).toBe(false);
    let text = decoder.decode(first.value, { stream: true });
    await until(
      () => taken === 2 && held === 0,
      'the next page is read and its snapshot given back',
    );
    // Idle: no further page is read, nothing is held, and the tenant's reads run as if no
    // export were open.
    await Bun.sleep(200);
    expect([taken, held]).toEqual([2, 0]);
    store.snapshot = snapshot;
    // Every read place of the tenant, running and waiting, is free to others meanwhile: one
    // the export held would leave the last of these a 429.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const places = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;
    const reads = Array.from({ length: places }, () =>
      withSnapshot(store, DEFAULT_TENANT, {}, undefined, () => released),
    );
    release();
    await Promise.all(reads);
    // It goes on once the client takes again: every event, once.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
    }
    expect(held).toBe(0);
    const ids = ndjsonOf(text).map((e) => e.event_id);
    expect(new Set(ids).size).toBe(TEST_EXPORT_PAGE.rows * 5);
    expect(ids).toHaveLength(TEST_EXPORT_PAGE.rows * 5);
  });
});

describe('a project deleted while its export is sent', () => {
  test('in AUTH_MODE=open too: the stream is cut at once, not ended as if whole', async () => {
    // README: "A deletion of the project cuts it so at once, before its next page or chunk,
    // in either AUTH_MODE" (export-auth.test checks required mode).
    t = await makeTestApp();
    const app = t.app;
    const call = (method: string, url: string, token?: string, body?: unknown) =>
      app.handle(
        new Request(`http://localhost${url}`, {
          method,
          headers: {
            'content-type': 'application/json',
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    const account = { email: 'ada@example.com', password: 'correct horse 1' };
    expect((await call('POST', '/api/v1/auth/register', undefined, account)).status).toBe(201);
    const login = await call('POST', '/api/v1/auth/login', undefined, account);
    const token = ((await login.json()) as { access_token: string }).access_token;
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const project = `gone-${format}`;
      const made = await call('POST', '/api/v1/projects', token, { id: project, name: project });
      expect(made.status).toBe(201);
      await send(
        t,
        Array.from({ length: TEST_EXPORT_PAGE.rows * 3 }, (_, i) => ({
          tenant_id: project,
          event_id: `e-${i}`,
          name: 'blob',
          properties: { noise: Array.from({ length: 8 }, () => crypto.randomUUID()).join('') },
        })),
      );
      // Open mode: no credential, the tenant named.
      const res = await t.get(`/api/v1/export?format=${format}&tenant_id=${project}`);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      expect((await call('DELETE', `/api/v1/projects/${project}`, token)).status).toBe(204);
      const cut = await (async () => {
        try {
          while (!(await reader.read()).done) {}
          return null;
        } catch (error) {
          return error as { code?: string };
        }
      })();
      expect([format, cut?.code]).toEqual([format, 'unauthorized']);
    }
  });
});
