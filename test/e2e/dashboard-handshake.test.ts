// The dashboard's live socket when its handshake gets no answer (a server or a proxy that holds
// the upgrade): the page must give it up after LIVE_SILENCE_MAX_MS and try again, as for a
// connection that went silent, rather than wait on it as Chromium does (240 s) with the
// counters shown as connecting. The page is served through a proxy in this process that
// passes every request on to the real server except WebSocket upgrades, which it holds.

import { describe, expect, test } from 'bun:test';
import { LIVE_SILENCE_MAX_MS } from '../../web/live.ts';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const cleanups = cleanupsAfterEach();

async function serve(): Promise<LiveServer> {
  const server = await serveFor(cleanups);
  return server;
}

/** A proxy to `upstream` that holds every WebSocket upgrade unanswered; counts them. */
function holdingProxy(upstream: string): { url: string; upgrades: () => number } {
  let upgrades = 0;
  const proxy = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0, // a held handshake stays open: only the page may give it up
    async fetch(request) {
      if (request.headers.get('upgrade') !== null) {
        upgrades++;
        return new Promise<Response>(() => {});
      }
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete('host');
      headers.set('accept-encoding', 'identity');
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      return fetch(`${upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: hasBody ? await request.arrayBuffer() : undefined,
        redirect: 'manual',
      });
    },
  });
  cleanups.push(() => proxy.stop(true));
  return { url: `http://127.0.0.1:${proxy.port}`, upgrades: () => upgrades };
}

describe('the live socket of the dashboard', () => {
  test('a handshake with no answer is given up after 45 s and tried again', async () => {
    const server = await serve();
    const proxy = holdingProxy(server.url);
    const browser = await chromiumFor(cleanups);
    const page = await browser.context.newPage();
    await page.clock.install();
    await page.clock.pauseAt(Date.now() + 1000);
    await page.goto(`${proxy.url}/dashboard`);
    await page.waitForSelector('#status[data-state="connecting"]', { timeout: 10_000 });
    // The page's reads pass: the series is shown while its socket waits.
    await page.waitForFunction(
      () => /buckets in/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(proxy.upgrades()).toBe(1);
    await page.clock.runFor(LIVE_SILENCE_MAX_MS - 1000);
    expect(await page.getAttribute('#status', 'data-state')).toBe('connecting');
    await page.clock.runFor(1000);
    await page.waitForSelector('#status[data-state="offline"]', { timeout: 2000 });
    expect(await page.textContent('#status')).toBe(
      'no answer to the handshake in 45 s; retrying in 1 s',
    );
    await page.clock.runFor(1000);
    for (let i = 0; i < 100 && proxy.upgrades() < 2; i++) await Bun.sleep(20);
    expect(proxy.upgrades()).toBe(2);
    expect(await page.getAttribute('#status', 'data-state')).toBe('connecting');
  }, 60_000);
});
