import { describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { cors, NATIVE_INGEST_ROUTES } from '../../src/http/cors.ts';

describe('cors plugin', () => {
  test('compat ingest paths given in the options get the same treatment', async () => {
    const app = new Elysia()
      .use(
        cors({
          ingestRoutes: [...NATIVE_INGEST_ROUTES, { method: 'POST', path: '/api/event' }],
          readOrigins: [],
        }),
      )
      .post('/api/event', () => 'ok');
    const res = await app.handle(
      new Request('http://localhost/api/event/', {
        method: 'OPTIONS',
        headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
      }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('a request without Origin is left alone', async () => {
    const app = new Elysia()
      .use(cors({ ingestRoutes: NATIVE_INGEST_ROUTES, readOrigins: ['https://a.example'] }))
      .get('/api/v1/stats', () => 'ok');
    const res = await app.handle(new Request('http://localhost/api/v1/stats'));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('vary')).toBeNull();
  });
});
