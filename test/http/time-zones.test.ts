// Time zones across the native reads, through the real app and store, against hand-checked
// tables of each zone's rules (the expected instants below are written out, not computed with
// Intl): a bare date is a local day of `tz` on every read that takes dates, including the lists;
// DST changes at local midnight (Santiago), 45- and 30-minute offsets, the southern hemisphere's
// weeks and months, and ingest offsets. The test clock's now is 2026-11-25T12:00:00Z.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const ok = async (path: string): Promise<Json> => {
  const res = await t.get(path);
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
};
const send = async (events: Json[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};

describe('lists: a bare date is a local day of tz', () => {
  // New York is UTC-5 on 2026-03-07 (its DST begins 2026-03-08 07:00Z): the local day
  // 2026-03-08 begins at 05:00Z. 02:00Z is still 2026-03-07 21:00 there.
  const EVENING_BEFORE = '2026-03-08T02:00:00Z';
  const MORNING = '2026-03-08T06:00:00Z';

  test('GET /api/v1/events reads from/to in tz, as export does', async () => {
    await send([
      { name: 'page_view', event_id: 'evening', timestamp: EVENING_BEFORE },
      { name: 'page_view', event_id: 'morning', timestamp: MORNING },
    ]);
    const ids = async (query: string) =>
      ((await ok(`/api/v1/events?${query}`)).events as Json[]).map((e) => e.event_id);
    expect(await ids('from=2026-03-08&to=2026-03-08&tz=America/New_York')).toEqual(['morning']);
    expect(await ids('from=2026-03-07&to=2026-03-07&tz=America/New_York')).toEqual(['evening']);
    // Without tz, dates are UTC days.
    expect(await ids('from=2026-03-08&to=2026-03-08')).toEqual(['morning', 'evening']);
    const bad = await t.get('/api/v1/events?from=2026-03-08&tz=Mars/Olympus');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: Json[] }).detail[0]?.loc).toEqual(['query', 'tz']);
  });

  test('GET /api/v1/metrics reads from/to in tz', async () => {
    await send([
      { name: 'cpu', value: 1, timestamp: EVENING_BEFORE },
      { name: 'cpu', value: 2, timestamp: MORNING },
    ]);
    const values = async (query: string) =>
      ((await ok(`/api/v1/metrics?name=cpu&${query}`)).metrics as Json[]).map((m) => m.value);
    expect(await values('from=2026-03-08&to=2026-03-08&tz=America/New_York')).toEqual([2]);
    expect(await values('from=2026-03-07&to=2026-03-07&tz=America/New_York')).toEqual([1]);
    expect(await values('from=2026-03-08&to=2026-03-08')).toEqual([2, 1]);
  });
});

type Point = { bucket: string; value: number };
/** The points of a one-series time series of the events named `name`. */
const points = async (name: string, query: string): Promise<Point[]> => {
  const body = await ok(`/api/v1/timeseries?name=${name}&${query}`);
  const series = body.series as { points: Point[] }[];
  return series[0]?.points ?? [];
};
const at = (name: string, timestamp: string, user_id = 'u') => ({ name, timestamp, user_id });

describe('America/Santiago: DST changes at local midnight', () => {
  // 2026-04-05 00:00 -03 → 2026-04-04 23:00 -04 (03:00Z): 2026-04-04 has 25 hours, its 23:00
  // twice. 2026-09-06 00:00 -04 → 01:00 -03 (04:00Z): that day begins at 01:00, 23 hours.
  const ZONE = 'tz=America/Santiago';

  test('the 25-hour day: its repeated 23:00 is two hour buckets, one day bucket', async () => {
    await send([
      at('fall', '2026-04-04T03:30:00Z'), // 04-04 00:30 -03
      at('fall', '2026-04-05T02:30:00Z'), // 04-04 23:30 -03
      at('fall', '2026-04-05T03:30:00Z'), // 04-04 23:30 -04
      at('fall', '2026-04-05T04:30:00Z'), // 04-05 00:30 -04
    ]);
    expect(await points('fall', `bucket=day&from=2026-04-04&to=2026-04-05&${ZONE}`)).toEqual([
      { bucket: '2026-04-04T00:00:00-03:00', value: 3 },
      { bucket: '2026-04-05T00:00:00-04:00', value: 1 },
    ]);
    const hours = await points('fall', `bucket=hour&date=2026-04-04&fill=zero&${ZONE}`);
    expect(hours).toHaveLength(25);
    expect(hours[0]).toEqual({ bucket: '2026-04-04T00:00:00-03:00', value: 1 });
    expect(hours.slice(-2)).toEqual([
      { bucket: '2026-04-04T23:00:00-03:00', value: 1 },
      { bucket: '2026-04-04T23:00:00-04:00', value: 1 },
    ]);
    // Flushed, the counts come from per-minute counts: the same buckets.
    await t.engine.store.flusher.flush();
    expect(await points('fall', `bucket=hour&date=2026-04-04&fill=zero&${ZONE}`)).toEqual(hours);
    const stats = await ok(`/api/v1/stats?name=fall&date=2026-04-04&${ZONE}`);
    expect(stats).toMatchObject({
      total_events: 3,
      from: '2026-04-04T00:00:00-03:00',
      to: '2026-04-05T00:00:00-04:00',
    });
  });

  test('the day whose midnight does not exist begins at 01:00, in every read', async () => {
    await send([
      at('spring', '2026-09-06T03:30:00Z'), // 09-05 23:30 -04
      at('spring', '2026-09-06T04:00:00Z'), // 09-06 01:00 -03, the day's first instant
      at('spring', '2026-09-07T02:59:00Z'), // 09-06 23:59 -03
    ]);
    expect(await points('spring', `bucket=day&from=2026-09-05&to=2026-09-06&${ZONE}`)).toEqual([
      { bucket: '2026-09-05T00:00:00-04:00', value: 1 },
      { bucket: '2026-09-06T01:00:00-03:00', value: 2 },
    ]);
    const hours = await points('spring', `bucket=hour&date=2026-09-06&fill=zero&${ZONE}`);
    expect(hours).toHaveLength(23);
    expect([hours[0], hours.at(-1)]).toEqual([
      { bucket: '2026-09-06T01:00:00-03:00', value: 1 },
      { bucket: '2026-09-06T23:00:00-03:00', value: 1 },
    ]);
    const stats = await ok(`/api/v1/stats?name=spring&date=2026-09-06&${ZONE}`);
    expect(stats).toMatchObject({
      total_events: 2,
      from: '2026-09-06T01:00:00-03:00',
      to: '2026-09-07T00:00:00-03:00',
    });
    const cohorts = await ok(
      `/api/v1/cohorts?start=name:spring&period=day&from=2026-09-05&to=2026-09-06&${ZONE}`,
    );
    expect(cohorts.cohorts).toEqual([
      { start: '2026-09-05T00:00:00-04:00', size: 1, returned: [1, 1] },
      { start: '2026-09-06T01:00:00-03:00', size: 1, returned: [1] },
    ]);
  });
});

describe('offsets of 45 and 30 minutes', () => {
  test('Kathmandu (+05:45) and Kolkata (+05:30) put the same instants on other days', async () => {
    await send([
      at('shift', '2026-11-24T18:14:00Z'), // 23:59 in Kathmandu, 23:44 in Kolkata
      at('shift', '2026-11-24T18:15:00Z'), // 00:00 in Kathmandu, 23:45 in Kolkata
    ]);
    const days = 'bucket=day&from=2026-11-24&to=2026-11-25';
    expect(await points('shift', `${days}&tz=Asia/Kathmandu`)).toEqual([
      { bucket: '2026-11-24T00:00:00+05:45', value: 1 },
      { bucket: '2026-11-25T00:00:00+05:45', value: 1 },
    ]);
    expect(await points('shift', `${days}&tz=Asia/Kolkata`)).toEqual([
      { bucket: '2026-11-24T00:00:00+05:30', value: 2 },
    ]);
    const hours = 'bucket=hour&from=2026-11-24T17:00:00Z&to=2026-11-24T19:00:00Z';
    expect(await points('shift', `${hours}&tz=Asia/Kathmandu`)).toEqual([
      { bucket: '2026-11-24T23:00:00+05:45', value: 1 },
      { bucket: '2026-11-25T00:00:00+05:45', value: 1 },
    ]);
    const minutes = 'bucket=minute&from=2026-11-24T18:14:00Z&to=2026-11-24T18:16:00Z';
    expect(await points('shift', `${minutes}&tz=Asia/Kathmandu&fill=zero`)).toEqual([
      { bucket: '2026-11-24T23:59:00+05:45', value: 1 },
      { bucket: '2026-11-25T00:00:00+05:45', value: 1 },
    ]);
  });

  test('a zone named in any case is read, and answered, as the zone spells itself', async () => {
    await send([at('shift', '2026-11-24T18:15:00Z')]);
    const body = await ok('/api/v1/timeseries?name=shift&date=2026-11-25&tz=ASIA/kathmandu');
    expect(body.tz).toBe('Asia/Kathmandu');
    expect(body.from).toBe('2026-11-25T00:00:00+05:45');
    expect((await ok('/api/v1/stats?date=2026-11-25&tz=asia/KATHMANDU')).tz).toBe('Asia/Kathmandu');
  });
});

describe('Pacific/Auckland: weeks and months across the southern autumn change', () => {
  // 2026-04-05 03:00 +13 → 02:00 +12 (2026-04-04T14:00Z).
  test('weeks start on local Mondays, months on local 1sts, each in its own offset', async () => {
    await send([
      at('nz', '2026-03-29T11:30:00Z'), // Mon 03-30 00:30 +13
      at('nz', '2026-04-05T11:59:00Z'), // Sun 04-05 23:59 +12
      at('nz', '2026-04-05T12:00:00Z'), // Mon 04-06 00:00 +12
      at('nz', '2026-03-31T10:59:00Z'), // Tue 03-31 23:59 +13
    ]);
    const ZONE = 'tz=Pacific/Auckland';
    expect(await points('nz', `bucket=week&from=2026-03-30&to=2026-04-12&${ZONE}`)).toEqual([
      { bucket: '2026-03-30T00:00:00+13:00', value: 3 },
      { bucket: '2026-04-06T00:00:00+12:00', value: 1 },
    ]);
    expect(
      await points('nz', `bucket=month&from=2026-03-01&to=2026-05-31&fill=zero&${ZONE}`),
    ).toEqual([
      { bucket: '2026-03-01T00:00:00+13:00', value: 2 },
      { bucket: '2026-04-01T00:00:00+13:00', value: 2 },
      { bucket: '2026-05-01T00:00:00+12:00', value: 0 },
    ]);
  });
});

describe('range ends inside a millisecond', () => {
  test('from and to of …00.0005Z both stand for the next whole millisecond', async () => {
    // Stored in whole milliseconds: this event is at 00:00:00.000, before …00.0005.
    await send([{ name: 'tick', event_id: 'at-0', timestamp: '2026-11-20T00:00:00.000Z' }]);
    const counts = async (from: string, to: string) => {
      const query = `name=tick&from=${from}&to=${to}`;
      const listed = ((await ok(`/api/v1/events?${query}`)).events as Json[]).length;
      return [listed, (await ok(`/api/v1/stats?${query}`)).total_events];
    };
    // An exclusive end past the event takes it; an inclusive start past it leaves it out.
    expect(await counts('2026-11-19T00:00:00Z', '2026-11-20T00:00:00.0005Z')).toEqual([1, 1]);
    expect(await counts('2026-11-20T00:00:00.0005Z', '2026-11-21T00:00:00Z')).toEqual([0, 0]);
    expect(await counts('2026-11-20T00:00:00.000999Z', '2026-11-21T00:00:00Z')).toEqual([0, 0]);
    expect(await counts('2026-11-20T00:00:00.000000Z', '2026-11-21T00:00:00Z')).toEqual([1, 1]);
    // Epoch milliseconds with a fraction (Python's time.time() * 1000) alike.
    const atMs = Date.parse('2026-11-20T00:00:00Z');
    expect(await counts(String(atMs - 86_400_000), `${atMs}.5`)).toEqual([1, 1]);
    expect(await counts(`${atMs}.5`, String(atMs + 86_400_000))).toEqual([0, 0]);
    // Two ends inside one millisecond, in order, hold no whole millisecond: a 422 as for ends
    // out of order (it answered 200 with nothing on every read), not an empty answer.
    const oneMs = 'from=2026-11-20T00:00:00.0001Z&to=2026-11-20T00:00:00.0009Z';
    const epochs = `from=${atMs}.2&to=${atMs}.7`;
    const reversed = 'from=2026-11-20T00:00:00.0009Z&to=2026-11-20T00:00:00.0001Z';
    for (const query of [oneMs, epochs, reversed]) {
      for (const read of ['events', 'stats', 'timeseries', 'export']) {
        const res = await t.get(`/api/v1/${read}?${query}`);
        expect({ read, query, status: res.status }).toEqual({ read, query, status: 422 });
        const { detail } = (await res.json()) as { detail: { loc: string[]; msg: string }[] };
        expect(detail).toMatchObject([
          { loc: ['query', 'to'], msg: expect.stringContaining('to must be later than from') },
        ]);
      }
    }
  });
});

describe('local mean time: offsets with seconds', () => {
  test('a bucket as a read writes it (-04:56:02) is a from and to it takes back', async () => {
    // New York kept local mean time, -04:56:02, until 1883-11-18.
    await send([at('lmt', '1880-01-01T04:56:02Z'), at('lmt', '1880-01-02T04:56:01Z')]);
    const day = await points('lmt', 'date=1880-01-01&tz=America/New_York');
    expect(day).toEqual([{ bucket: '1880-01-01T00:00:00-04:56:02', value: 2 }]);
    const from = encodeURIComponent(day[0]?.bucket ?? '');
    const to = encodeURIComponent('1880-01-01T23:59:59-04:56:02');
    expect(await points('lmt', `from=${from}&to=${to}&tz=America/New_York`)).toEqual([
      { bucket: '1880-01-01T00:00:00-04:56:02', value: 1 },
    ]);
  });

  test('hours after the change from local mean time are on the hour (Monrovia 1972)', async () => {
    // Monrovia: −00:44:30 until 1972-01-07 00:44:30Z (its clocks jumped from 00:00:00 to
    // 00:44:30 GMT). 23:50 −00:44:30 is 00:34:30Z; 00:50 GMT 00:50Z; 02:10 GMT 02:10Z.
    await send([
      at('mon', '1972-01-07T00:34:30Z'),
      at('mon', '1972-01-07T00:50:00Z'),
      at('mon', '1972-01-07T02:10:00Z'),
    ]);
    const query = 'bucket=hour&from=1972-01-06T23:44:30Z&to=1972-01-07T03:00:00Z';
    expect(await points('mon', `${query}&tz=Africa/Monrovia&fill=zero`)).toEqual([
      { bucket: '1972-01-06T23:00:00-00:44:30', value: 2 },
      { bucket: '1972-01-07T01:00:00+00:00', value: 0 },
      { bucket: '1972-01-07T02:00:00+00:00', value: 1 },
    ]);
    // The day 1972-01-07 begins at 00:44:30Z, inside the hour begun at 23:00 −00:44:30.
    expect(await points('mon', 'bucket=hour&date=1972-01-07&tz=Africa/Monrovia')).toEqual([
      { bucket: '1972-01-06T23:00:00-00:44:30', value: 1 },
      { bucket: '1972-01-07T02:00:00+00:00', value: 1 },
    ]);
  });
});

describe('a range starting inside the first second after an offset change', () => {
  test('is read, not looped on for ever (Lord Howe 2026-10-04, from=…15:30:00.500Z)', async () => {
    // 02:00 +10:30 → 02:30 +11:00 at 15:30Z. Tally's hour from 01:00 +10:30 (14:30Z) runs to
    // 03:00 +11:00 (16:00Z). 15:30:00.500Z searched for the change between 15:29:59 and
    // 15:30:00.5 by halves that never met: the read held the server for ever.
    await send([
      at('lh', '2026-10-03T15:45:00Z'), // 02:45 +11:00
      at('lh', '2026-10-03T16:15:00Z'), // 03:15 +11:00
    ]);
    const query = 'bucket=hour&from=2026-10-03T15:30:00.500Z&to=2026-10-03T17:00:00Z';
    expect(await points('lh', `${query}&tz=Australia/Lord_Howe`)).toEqual([
      { bucket: '2026-10-04T01:00:00+10:30', value: 1 },
      { bucket: '2026-10-04T03:00:00+11:00', value: 1 },
    ]);
  });
});

describe("an offset's + sent unescaped", () => {
  test('is a 422 saying to send it as %2B, and %2B reads the range', async () => {
    await send([at('plus', '2026-11-25T09:30:00Z')]); // 10:30 +01:00
    // A query string reads an unescaped + as a space: from=…T10:00:00 01:00.
    const res = await t.get('/api/v1/stats?from=2026-11-25T10:00:00+01:00&to=2026-11-25T11:00:00Z');
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: Json[] }).detail).toEqual([
      {
        loc: ['query', 'from'],
        msg:
          'from has a space where its offset\'s + belongs (got "2026-11-25T10:00:00 01:00"): a ' +
          'query string reads an unescaped + as a space; send it as %2B (e.g. ' +
          '2026-03-08T00:00:00%2B01:00)',
        type: 'datetime_parsing',
      },
    ]);
    const stats = await ok(
      '/api/v1/stats?from=2026-11-25T10:00:00%2B01:00&to=2026-11-25T11:00:00Z',
    );
    expect(stats.total_events).toBe(1);
  });
});

describe("a zone's + sent unescaped", () => {
  test('is a 422 saying to send it as %2B; %2B reads Etc/GMT+5 as five hours behind', async () => {
    await send([at('plus', '2026-11-25T04:30:00Z')]); // 11-24 23:30 in Etc/GMT+5 (UTC-5)
    // tz=Etc/GMT+5 arrives as "Etc/GMT 5", which was refused as no IANA zone at all.
    const res = await t.get('/api/v1/timeseries?name=plus&date=2026-11-24&tz=Etc/GMT+5');
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: Json[] }).detail).toEqual([
      {
        loc: ['query', 'tz'],
        msg:
          'tz has a space where its + belongs (got "Etc/GMT 5"): a query string reads an ' +
          'unescaped + as a space; send it as %2B (tz=Etc/GMT%2B5)',
        type: 'time_zone',
      },
    ]);
    // Etc/GMT+5 is POSIX's sign: UTC-5.
    expect(await points('plus', 'bucket=day&date=2026-11-24&tz=Etc/GMT%2B5')).toEqual([
      { bucket: '2026-11-24T00:00:00-05:00', value: 1 },
    ]);
  });
});

describe('ingest offsets', () => {
  test('+05:45, -00:00, a leap day and a year boundary are stored as their instants', async () => {
    const cases: [string, string][] = [
      ['2026-11-25T00:00:00+05:45', '2026-11-24T18:15:00.000Z'],
      ['2026-11-25T00:00:00-00:00', '2026-11-25T00:00:00.000Z'],
      ['2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00.000Z'],
      ['2026-01-01T00:30:00+14:00', '2025-12-31T10:30:00.000Z'],
      ['2025-12-31T23:30:00-10:00', '2026-01-01T09:30:00.000Z'],
    ];
    await send(cases.map(([timestamp], i) => ({ name: 'offset', event_id: `o${i}`, timestamp })));
    const events = (await ok('/api/v1/events?name=offset')).events as Json[];
    const stored = new Map(events.map((e) => [e.event_id, e.timestamp]));
    expect(cases.map((_, i) => stored.get(`o${i}`))).toEqual(cases.map(([, iso]) => iso));
    // 2100 is no leap year.
    const res = await t.post('/api/v1/events', { name: 'x', timestamp: '2100-02-29T00:00:00Z' });
    expect(res.status).toBe(422);
  });
  test('epoch milliseconds with a fraction (Python: time.time() * 1000) keep the whole one', async () => {
    const at = Date.parse('2026-11-25T12:00:00Z');
    await send([
      { name: 'epoch', event_id: 'e1', timestamp: at + 0.5 },
      { name: 'epoch', event_id: 'e2', timestamp: at + 123.456 },
    ]);
    const events = (await ok('/api/v1/events?name=epoch')).events as Json[];
    expect(new Map(events.map((e) => [e.event_id, e.timestamp]))).toEqual(
      new Map([
        ['e1', '2026-11-25T12:00:00.000Z'],
        ['e2', '2026-11-25T12:00:00.123Z'],
      ]),
    );
  });
});
