// Liveness and readiness for load balancers and the Docker HEALTHCHECK.

import { Elysia, t } from 'elysia';
import type { AppDeps } from '../context.ts';
import { ErrorOut } from '../model.ts';
import { jsonAnswer } from '../openapi-docs.ts';
import {
  healthExample,
  notReadyExample,
  readyExample,
  statusExample,
} from '../openapi-examples.ts';

export function healthRoutes(deps: AppDeps) {
  return new Elysia({ tags: ['operations'] })
    .get('/health', () => ({ status: 'ok' as const }), {
      detail: {
        summary: 'Liveness: the process answers',
        responses: {
          200: jsonAnswer('Alive', t.Object({ status: t.Literal('ok') }), healthExample),
        },
      },
    })
    .get(
      '/ready',
      ({ set }) => {
        if (!deps.isAccepting()) {
          set.status = 503;
          return { detail: 'the server is shutting down', code: 'not_ready' };
        }
        const status = deps.engine.store.readiness();
        if (!status.ok) {
          set.status = 503;
          return { detail: status.reason, code: 'not_ready' };
        }
        return { status: 'ready' as const };
      },
      {
        detail: {
          summary: 'Readiness: the store can take writes',
          responses: {
            200: jsonAnswer('Ready', t.Object({ status: t.Literal('ready') }), readyExample),
            503: jsonAnswer('Not ready, with the reason', ErrorOut, notReadyExample),
          },
        },
      },
    )
    .get(
      '/api/v1/status',
      () => {
        const { engine } = deps;
        return {
          ...engine.store.backlog(),
          dedup_keys: engine.dedup.size,
          dedup_remembered_since: isoOrNull(engine.dedup.rememberedSince(deps.clock.now())),
          dedup_dropped_early: engine.dedup.droppedEarly,
          actors: engine.registry.size,
          rollup_bytes: engine.registry.rollupBytes,
          rss_bytes: process.memoryUsage.rss(),
        };
      },
      {
        detail: {
          summary: 'Backlog and memory: what waits to be flushed, and how much is held',
          responses: { 200: jsonAnswer('Counters', StatusOut, statusExample) },
        },
      },
    );
}

const StatusOut = t.Object({
  last_seq: t.Integer({ description: 'Last write-ahead log record.' }),
  flushed_through_seq: t.Integer({ description: 'Every record up to here is in segments.' }),
  hot_bytes: t.Integer({ description: 'Estimated memory of unflushed events.' }),
  wal_files: t.Integer(),
  dedup_keys: t.Integer(),
  dedup_remembered_since: t.Union([t.String({ format: 'date-time' }), t.Null()], {
    description:
      'Null while every event_id of DEDUP_WINDOW is remembered. Past DEDUP_KEYS_MAX the oldest ' +
      'ids are forgotten early: ids received from this time on are still exact-once.',
  }),
  dedup_dropped_early: t.Integer({
    description: 'event_ids forgotten before their window ended (since the process started).',
  }),
  actors: t.Integer({ description: 'Resident tenant actors.' }),
  rollup_bytes: t.Integer({
    description: 'Estimated memory of their live rollups (held to ROLLUP_BYTES_MAX).',
  }),
  rss_bytes: t.Integer(),
});

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
