// The floor under durable single-event ingest: an Elysia route that runs everything Tally's
// `POST /api/v1/events` does before the engine — the same `readOneEvent` (body read within the
// limits, JSON parse, shape check, the event rules of DESIGN.md §2) — and answers 202 with the
// route's response, storing nothing. Its req/s is what durable ingest could reach if the engine,
// the log and the fsync cost nothing, so the report can show where a missed ratio comes from.
// Run as a child process: `PORT=N bun bench/support/floor-server.ts`; GET /health answers 200.

import { Elysia } from 'elysia';
import { readOneEvent } from '../../src/http/routes/events.ts';
import { openContextOf } from './open-context.ts';

const port = Number(Bun.env.PORT ?? '0');

const app = new Elysia()
  .get('/health', () => ({ status: 'ok' }))
  .post(
    '/api/v1/events',
    async ({ request, set }) => {
      const event = await readOneEvent(request, openContextOf(request));
      set.status = 202;
      return { status: 'accepted', event_id: event.event_id, duplicate: false };
    },
    { parse: 'none' },
  )
  .listen({ hostname: '127.0.0.1', port });

process.on('SIGTERM', () => {
  void app.stop(true);
  process.exit(0);
});
