// Liveness and readiness for load balancers and the Docker HEALTHCHECK, both public; and the
// server's status, whose counters span every tenant: with AUTH_MODE=required, for admins only.

import { Elysia, t } from 'elysia';
import { readCredentialOf } from '../../auth/index.ts';
import { AppError } from '../../core/index.ts';
import { type AppDeps, requiredAuthOf } from '../context.ts';
import { ErrorOut } from '../model.ts';
import { errorDocs, jsonAnswer } from '../openapi-docs.ts';
import {
  healthExample,
  notReadyExample,
  readyExample,
  statusExample,
} from '../openapi-examples.ts';

export function healthRoutes(deps: AppDeps) {
  const auth = requiredAuthOf(deps);
  /**
   * 401 without a valid access token; 403 for a user who is not an admin, and for a key (a
   * credential of the wrong kind, as a read key on an ingest route: never "invalid").
   */
  const requireAdmin = (request: Request) => {
    if (auth === null) return;
    const kind = readCredentialOf(request)?.kind;
    if (kind === 'read_key' || kind === 'write_key') {
      throw new AppError('forbidden', "only an admin's access token may read the server status");
    }
    if (!auth.authenticate(request).user.isAdmin) {
      throw new AppError('forbidden', 'only an admin may read the server status');
    }
  };
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
      () => {
        // Thrown, so the answer is every 503's: the error shape with Retry-After.
        if (!deps.isAccepting()) throw new AppError('not_ready', 'the server is shutting down');
        const status = deps.engine.store.readiness();
        if (!status.ok) throw new AppError('not_ready', status.reason);
        // Writes still land in the log, but a node whose flushes keep failing fills its hot
        // budget and then refuses them: said here first, for the load balancer.
        const flushFailure = deps.engine.store.flusher.failure();
        if (flushFailure !== null) throw new AppError('not_ready', flushFailure);
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
      ({ request }) => {
        requireAdmin(request);
        const { engine } = deps;
        return {
          ...engine.store.backlog(),
          dedup_keys: engine.dedup.size,
          dedup_bytes: engine.dedup.bytes,
          dedup_remembered_since: isoOrNull(engine.dedup.rememberedSince(deps.clock.now())),
          dedup_dropped_early: engine.dedup.droppedEarly,
          actors: engine.registry.size,
          rollup_bytes: engine.registry.rollupBytes,
          rss_bytes: process.memoryUsage.rss(),
          ...retentionStatus(deps.retention),
        };
      },
      {
        detail: {
          summary: 'Backlog and memory: what waits to be flushed, and how much is held',
          description:
            'Counters of the whole server, across tenants: with AUTH_MODE=required it takes ' +
            "an admin's access token (Authorization: Bearer).",
          responses: {
            200: jsonAnswer('Counters', StatusOut, statusExample),
            ...errorDocs({ 401: 'Not signed in (AUTH_MODE=required)', 403: 'Not an admin' }),
          },
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
  dedup_bytes: t.Integer({
    description:
      "Memory of the dedup index's tables: 23–46 bytes per key, as many keys as DEDUP_KEYS_MAX.",
  }),
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
  retention_days: t.Optional(
    t.Integer({
      description:
        'RETENTION_DAYS: days of events a project keeps unless it sets its own ' +
        '`retention_days`; 0 keeps them forever.',
    }),
  ),
  retention_last_run_at: t.Optional(
    t.Union([t.String({ format: 'date-time' }), t.Null()], {
      description:
        'When the last retention pass that finished began (hourly, and at start); null before it.',
    }),
  ),
});

function retentionStatus(retention: AppDeps['retention']) {
  if (retention === undefined) return {};
  return {
    retention_days: retention.defaultDays,
    retention_last_run_at: isoOrNull(retention.lastRunAt),
  };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
