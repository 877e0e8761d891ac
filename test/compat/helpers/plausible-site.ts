// A small site sending Plausible's tracker beacons, read through Plausible's Stats APIs (v1
// and v2): four visitors over two days (sources, campaign tags, devices, a goal, a custom
// property), the clock stopped at 12:00 UTC on the second day.

import { expect } from 'bun:test';
import type { CompatApp } from './compat-app.ts';

type Json = Record<string, unknown>;

export const WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/131.0.0.0 Safari/537.36';
export const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
export const at = (iso: string) => Date.parse(iso);

/** A beacon of the tracker for example.com at `time` from the visitor at `ip`. */
export async function beacon(t: CompatApp, time: string, ip: string, body: Json, ua = WINDOWS) {
  t.clock.set(at(time));
  const res = await t.post('/api/event', JSON.stringify({ d: 'example.com', ...body }), {
    'content-type': 'text/plain',
    'user-agent': ua,
    'x-forwarded-for': ip,
  });
  expect(res.status).toBe(202);
}

export const page = (path: string, r?: string) => ({
  n: 'pageview',
  u: `https://example.com${path}`,
  ...(r === undefined ? {} : { r }),
});

/** When the clock stops: noon of 2026-11-25, UTC. */
export const NOW = '2026-11-25T12:00:00Z';

/**
 * Yesterday (11-24) A comes from Google to /, reads /blog/hello and signs up there (a visit of
 * 300 s, not a bounce); B lands on /blog/other from a newsletter (a bounce). Today (11-25) C
 * comes from Hacker News on an iPhone (a bounce) and D opens /pricing directly at 11:58 (a
 * bounce). The clock stops at 12:00 today.
 */
export async function seedSite(t: CompatApp): Promise<void> {
  await beacon(
    t,
    '2026-11-24T10:00:00Z',
    '198.51.100.1',
    page('/', 'https://www.google.com/search'),
  );
  await beacon(t, '2026-11-24T10:04:00Z', '198.51.100.1', page('/blog/hello'));
  await beacon(t, '2026-11-24T10:05:00Z', '198.51.100.1', {
    n: 'Signup',
    u: 'https://example.com/blog/hello',
    p: { plan: 'pro' },
  });
  await beacon(
    t,
    '2026-11-24T11:00:00Z',
    '198.51.100.2',
    page('/blog/other?utm_source=newsletter&utm_medium=email'),
  );
  await beacon(
    t,
    '2026-11-25T09:00:00Z',
    '198.51.100.3',
    page('/', 'https://news.ycombinator.com/'),
    IPHONE,
  );
  await beacon(t, '2026-11-25T11:58:00Z', '198.51.100.4', page('/pricing'));
  t.clock.set(at(NOW));
}
