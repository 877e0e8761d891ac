// GET /dashboard and its assets: the page, its bundle (built once, uPlot inside) and CSS, all
// served by this server with nothing from a CDN; revalidation, unknown assets, failed builds.

import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { Elysia } from 'elysia';
import { dashboardRoutes } from '../../src/http/routes/dashboard.ts';
import { type LiveServer, startLiveServer } from './support.ts';

let server: LiveServer;

beforeAll(async () => {
  server = await startLiveServer();
});

afterAll(async () => {
  await server.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { headers });

/** Any reference to another host: src/href/url() or an import from http(s)://. */
const EXTERNAL =
  /(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|url\(\s*["']?(?:https?:)?\/\/|from\s*["']https?:/i;

describe('GET /dashboard', () => {
  test('the page, with a strict CSP and only local assets', async () => {
    const res = await get('/dashboard');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html;charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain('src="/dashboard/dashboard.js"');
    expect(html).toContain('href="/dashboard/dashboard.css"');
    for (const w of ['1m', '5m', '1h', '24h']) expect(html).toContain(`data-window="${w}"`);
    expect(html).not.toMatch(EXTERNAL);
  });

  test('the bundle and its CSS (uPlot included) come from this server', async () => {
    const js = await get('/dashboard/dashboard.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toStartWith('text/javascript');
    const code = await js.text();
    expect(code).toContain('uplot');
    expect(code).toContain('/api/v1/live');
    expect(code).not.toMatch(EXTERNAL);
    expect(code).not.toMatch(/cdn\.|unpkg|jsdelivr/);
    const css = await get('/dashboard/dashboard.css');
    expect(css.headers.get('content-type')).toStartWith('text/css');
    const styles = await css.text();
    expect(styles).toContain('.uplot');
    expect(styles).toContain('.cards');
    expect(styles).not.toMatch(EXTERNAL);
  });

  test('built once; an unchanged asset revalidates with 304', async () => {
    const build = spyOn(Bun, 'build');
    const app = new Elysia().use(dashboardRoutes());
    const first = await app.handle(new Request('http://localhost/dashboard/dashboard.js'));
    const etag = first.headers.get('etag') as string;
    const again = await app.handle(
      new Request('http://localhost/dashboard/dashboard.js', {
        headers: { 'if-none-match': etag },
      }),
    );
    await app.handle(new Request('http://localhost/dashboard'));
    expect(again.status).toBe(304);
    expect(build).toHaveBeenCalledTimes(1);
    build.mockRestore();
  });

  test('an unknown asset is a 404; a failed build is a 500 and is retried', async () => {
    const missing = await get('/dashboard/nope.js');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      detail: 'no dashboard asset nope.js',
      code: 'not_found',
    });
    const build = spyOn(Bun, 'build');
    const broken = new Elysia().use(dashboardRoutes({ webDir: '/nonexistent' }));
    const first = await broken.handle(new Request('http://localhost/dashboard'));
    const second = await broken.handle(new Request('http://localhost/dashboard'));
    expect([first.status, second.status]).toEqual([500, 500]);
    expect(build).toHaveBeenCalledTimes(2);
    build.mockRestore();
  });
});
