// Metric data points (seed 001): a point is an event whose name is the metric and which carries
// a `value` (tags become properties), so it goes through the one ingest path and every read.
// The latest value per metric is answered from the tenant actor's memory (see latestPoint for
// when the store answers instead).

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Elysia, t } from 'elysia';
import { storedEventsProbe } from '../../auth/index.ts';
import { AppError, type BaseEvent, eventLimits, metricLimits } from '../../core/index.ts';
import type { TenantActor } from '../../engine/index.ts';
import { getLatestMetric } from '../../query/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import {
  acceptedOrThrow,
  ingestEvents,
  ingestResponses,
  refuseQueryTenant,
} from '../ingest-outcome.ts';
import { tenantIdSchema } from '../model.ts';
import { jsonAnswer, jsonOrTextContent, longParamDocs, readErrorDocs } from '../openapi-docs.ts';
import { latestMetricExample, metricAcceptedExample } from '../openapi-examples.ts';
import {
  admitIngest,
  type ClientNames,
  contextOf,
  NATIVE_API,
  prepareEvents,
  withoutNulls,
} from '../prepare.ts';
import { tenantParam } from '../read-params.ts';
import { refuseRepeatedParameters } from '../repeated-params.ts';
import { issuesOf } from '../validate.ts';

const MetricIn = t.Object({
  name: t.String({ minLength: 1, maxLength: eventLimits.nameCharsMax, examples: ['cpu_load'] }),
  value: t.Number({
    description: `The measured value (magnitude at most ${metricLimits.valueAbsMax}).`,
    examples: [0.73],
  }),
  tags: t.Optional(
    t.Record(t.String(), t.String(), { description: 'Dimensions, stored as properties.' }),
  ),
  timestamp: t.Optional(
    t.Union([t.String(), t.Number()], {
      description: 'ISO 8601 with a zone offset, or epoch milliseconds; receive time when absent.',
    }),
  ),
  id: t.Optional(
    t.String({
      minLength: 1,
      maxLength: eventLimits.eventIdCharsMax,
      description: 'Idempotency id.',
    }),
  ),
  tenant_id: t.Optional(tenantIdSchema()),
});

const metricInChecker = TypeCompiler.Compile(MetricIn);

/** The fields of a point that are named otherwise in an event, as errors must name them. */
const METRIC_NAMES: ClientNames = { event_id: 'id', properties: 'tags' };

const MetricAccepted = t.Object({
  status: t.Union([t.Literal('accepted'), t.Literal('duplicate')]),
  id: t.String(),
  duplicate: t.Boolean(),
});

const LatestOut = t.Object({
  name: t.String(),
  value: t.Number(),
  timestamp: t.String({ format: 'date-time' }),
  id: t.String(),
});

const POINT_EXAMPLE = { name: 'cpu_load', value: 0.73, tags: { host: 'web-1' } };

const RECORD_POINT_DOC = {
  summary: 'Record one metric data point',
  description:
    'Answers 202 once durable. `tags` are stored as the event properties. The tenant is the ' +
    "body's `tenant_id`; a `tenant_id` query parameter is refused (422).",
  requestBody: {
    required: true,
    content: jsonOrTextContent(MetricIn, POINT_EXAMPLE),
  },
  responses: ingestResponses(
    MetricAccepted,
    'Accepted (or a duplicate of a stored point)',
    metricAcceptedExample,
  ),
};

const LATEST_DOC = {
  summary: 'Latest value of a metric',
  description:
    "From the tenant's live counters in memory; read from the store only past the " +
    'ROLLUP_NAMES_MAX most recent metrics, or when the counters cannot be had.',
  responses: {
    200: jsonAnswer('The point with the latest timestamp', LatestOut, latestMetricExample),
    ...readErrorDocs({ 404: 'No points for this metric' }),
    ...longParamDocs('name', eventLimits.nameCharsMax),
  },
};

/**
 * The latest point of a metric, from the tenant's actor's rollups. A tenant that holds events
 * is made resident while ACTORS_MAX has room (one rebuild, then every poll is answered from
 * memory until it idles out; a read never evicts another tenant); one that holds none is a
 * 404 without an actor (one catalog lookup and a look at its unflushed rows). A name the
 * rollups do not know is a 404 from memory while they know every metric; the store answers
 * only past ROLLUP_NAMES_MAX metrics, for rollups whose rebuild failed or was stopped (they may
 * miss points), or when no actor could be had.
 */
async function latestPoint(deps: AppDeps, tenant: string, name: string, signal: AbortSignal) {
  const { registry, store } = deps.engine;
  let actor: TenantActor | null | undefined = registry.peek(tenant);
  if (actor === undefined) {
    if (!(await storedEventsProbe(store)(tenant))) return null;
    actor = registry.actorIfRoom(tenant);
  }
  if (actor !== null) {
    await actor.whenReady();
    // Partial counters, else: a rebuild failed, or stopped (the actor evicted or dropped).
    if (!registry.rebuildFailed(actor) && !registry.rebuildStopped(actor)) {
      const tracked = actor.rollups.latestMetric(name);
      if (tracked !== undefined) return tracked;
      if (actor.rollups.knowsEveryMetric) return null;
    }
  }
  return getLatestMetric(store, tenant, name, signal);
}

export function metricRoutes(deps: AppDeps) {
  return new Elysia({ prefix: '/api/v1/metrics', tags: ['metrics'] })
    .post(
      '',
      async ({ request, server, set }) => {
        admitIngest(deps);
        refuseQueryTenant(request);
        const body = await readBody(request, JSON_TYPES, eventLimits.eventBytesMax, {
          oneEvent: true,
        });
        const point = withoutNulls(parseJson(body.bytes));
        if (!metricInChecker.Check(point)) {
          throw AppError.validation(issuesOf(metricInChecker, point, ['body']));
        }
        // Only the fields of a point: another field is ignored, as in an event, never read as
        // the event field of its name (a `duration` of -1 was a 422, a `user_id` was stored).
        const { name, value, timestamp, tenant_id, id, tags } = point;
        const item = { name, value, timestamp, tenant_id, event_id: id, properties: tags };
        const events = prepareEvents(
          [item],
          contextOf(deps, request, server, NATIVE_API),
          () => ['body'],
          METRIC_NAMES,
        );
        const event = events[0] as BaseEvent;
        noteTenant(request, event.tenant);
        const outcome = acceptedOrThrow(await ingestEvents(deps, events), () => ['body']);
        set.status = 202;
        const duplicate = outcome.duplicates > 0;
        return { status: duplicate ? 'duplicate' : 'accepted', id: event.event_id, duplicate };
      },
      {
        parse: 'none',
        detail: RECORD_POINT_DOC,
      },
    )
    .get(
      '/latest/:name',
      async ({ params, query, request }) => {
        const tenant = deps.tenancy.forRead(request, query);
        noteTenant(request, tenant);
        const latest = await latestPoint(deps, tenant, params.name, request.signal);
        if (latest === null) {
          throw new AppError('not_found', `no data points for metric ${params.name}`);
        }
        return {
          name: latest.name,
          value: latest.value,
          timestamp: new Date(latest.timestamp).toISOString(),
          id: latest.event_id,
        };
      },
      {
        params: t.Object({ name: t.String({ maxLength: eventLimits.nameCharsMax }) }),
        query: t.Object(tenantParam),
        // Before the query is validated: one read of it, each parameter once (as every read).
        transform: ({ request }) => refuseRepeatedParameters(request),
        detail: LATEST_DOC,
      },
    );
}
