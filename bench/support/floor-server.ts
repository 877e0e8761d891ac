// The floor under durable single-event ingest: an Elysia route that runs everything Tally's
// `POST /api/v1/events` does before the engine — the same `readOneEvent` (body read within the
// limits, JSON parse, shape check, the event rules of DESIGN.md §2) — and answers 202 with the
// route's response, storing nothing. Its req/s is what durable ingest could reach if the engine,
// the log and the fsync cost nothing, so the report can show where a missed ratio comes from.
// Run as a child process: `PORT=N bun bench/support/floor-server.ts`; GET /health answers 200.

import { Elysia } from 'elysia';
import { floorRoute } from './floor-route.ts';

const port = Number(Bun.env.PORT ?? '0');

const app = new Elysia()
  .get('/health', () => ({ status: 'ok' }))
  .use(floorRoute())
  .listen({ hostname: '127.0.0.1', port });

process.on('SIGTERM', () => {
  void app.stop(true);
  process.exit(0);
});
