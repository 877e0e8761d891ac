// The /openapi page loads Swagger UI from this server (routes/openapi-ui.ts), never from a CDN:
// the page names only local files, each is served with its type and a validator, and
// nothing else under /openapi/assets is.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(() => t.close());

describe('/openapi page', () => {
  test('loads its script and style sheet from this server only', async () => {
    const res = await t.get('/openapi');
    expect(res.status).toBe(200);
    const html = await res.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.sort()).toEqual([
      '/openapi/assets/swagger-ui-bundle.js',
      '/openapi/assets/swagger-ui.css',
    ]);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('"url":"/openapi/json"');
    expect(html).toContain('"validatorUrl":"none"');
  });

  test('names the document by an absolute path, so /openapi/ loads it too', async () => {
    // A relative "openapi/json" resolves to /openapi/openapi/json from /openapi/ (a 404).
    const res = await t.get('/openapi/');
    expect(res.status).toBe(200);
    const url = /"url":"([^"]+)"/.exec(await res.text())?.[1] as string;
    const spec = await t.get(new URL(url, 'http://localhost/openapi/').pathname);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { info: { title: string } }).info.title).toBe('Tally');
  });

  test('serves Swagger UI script and style sheet with their types and etags', async () => {
    const js = await t.get('/openapi/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript;charset=utf-8');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toContain('SwaggerUIBundle');
    const css = await t.get('/openapi/assets/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css;charset=utf-8');
    const etag = css.headers.get('etag') as string;
    expect(etag).toMatch(/^"[0-9a-z]+"$/);
    const again = await t.app.handle(
      new Request('http://localhost/openapi/assets/swagger-ui.css', {
        headers: { 'if-none-match': etag },
      }),
    );
    expect(again.status).toBe(304);
  });

  test('answers 404 for any other file, including paths out of the package', async () => {
    for (const name of [
      'index.html',
      'package.json',
      'swagger-ui-bundle.js.map',
      '..%2F..%2Fpackage.json',
    ]) {
      const res = await t.get(`/openapi/assets/${name}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('not_found');
    }
  });

  test("the reference services' docs pages (/docs, /redoc, /api/v1/docs) lead to it", async () => {
    // Seeds 002 and 004 document FastAPI's /docs (004 also /redoc), seed 001 /api/v1/docs.
    for (const path of ['/docs', '/redoc', '/api/v1/docs']) {
      const res = await t.get(path);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/openapi');
    }
  });
});
