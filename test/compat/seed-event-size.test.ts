// The seed routes taking one event (000 POST /ingest, 002 POST /events, 003 POST /api/events/,
// 004 POST /event) measure it as Tally's own POST /api/v1/events does: up to 32 KB without a
// byte order mark before it or a line end after it (a file sent with `curl --data-binary`).

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { eventLimits } from '../../src/core/index.ts';
import { countEvents } from '../helpers/app.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const ROUTES: [path: string, body: Record<string, unknown>, tenant: string][] = [
  ['/ingest', { name: 'signup', user_id: 'user_42' }, 'default'],
  [
    '/events',
    {
      event_id: 'evt_size',
      tenant_id: 'tenant_1',
      source: 'web',
      event_type: 'click',
      timestamp: '2024-01-15T10:30:00Z',
      payload: {},
    },
    'tenant_1',
  ],
  ['/api/events/', { page: '/homepage', session_id: 's' }, 'default'],
  [
    '/event',
    { site_id: 'site-abc', event_type: 'page_view', path: '/p', timestamp: '2025-11-15T18:30:01Z' },
    'site-abc',
  ],
];

/** `body` as JSON padded with spaces before its last brace to `bytes` bytes. */
function padded(body: Record<string, unknown>, bytes: number): string {
  const json = JSON.stringify(body);
  return `${json.slice(0, -1)}${' '.repeat(bytes - json.length)}}`;
}

test('an event of exactly 32 KB is taken with a BOM and a final line end; a byte more is 413', async () => {
  const max = eventLimits.eventBytesMax;
  for (const [path, body, tenant] of ROUTES) {
    expect(Buffer.byteLength(padded(body, max))).toBe(max);
    const before = await countEvents(t.engine.store, tenant);
    const taken = await t.post(path, `\ufeff${padded(body, max)}\r\n`, {
      'content-type': 'application/json',
    });
    const answer = { path, ok: taken.ok, body: taken.ok ? null : await taken.text() };
    expect(answer).toEqual({ path, ok: true, body: null });
    const over = await t.post(path, `${padded(body, max + 1)}\n`, {
      'content-type': 'application/json',
    });
    expect({ path, status: over.status }).toEqual({ path, status: 413 });
    expect(await countEvents(t.engine.store, tenant)).toBe(before + 1);
  }
});
