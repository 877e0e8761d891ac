// analytics.js's own usage metrics: POST /v1/m. analytics-next counts its calls
// (`analytics_js.invoke`, …) and, every 30 s, posts them to the apiHost it was given for
// Segment.io, for Segment's monitoring of the library. They are not events of the site, so
// Tally checks and answers them as Segment does and keeps nothing; without an answer every
// page logs a CORS failure. `cdnSettings.metrics.sampleRate: 0` stops the SDK sending them.

import { Elysia, t } from 'elysia';
import { AppError, KiB } from '../../core/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { ErrorOut } from '../model.ts';
import {
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonRequestBody,
  SLOW_BODY_TEXT,
} from './docs.ts';
import { objectOf } from './ingest.ts';
import { guarded, json } from './responses.ts';
import { segmentErrorShape } from './segment.ts';

export const SEGMENT_METRICS_PATH = '/v1/m';

/** analytics-next sends at most 20 counters a request; a few KB. */
export const METRICS_KIB_MAX = 64;
const METRICS_BYTES_MAX = METRICS_KIB_MAX * KiB;

export function segmentMetricsRoutes(deps: AppDeps) {
  const metrics = guarded(segmentErrorShape(deps), async ({ request }: { request: Request }) => {
    const body = objectOf(
      parseJson((await readBody(request, JSON_TYPES, METRICS_BYTES_MAX)).bytes),
    );
    if (body === undefined || !Array.isArray(body.series)) {
      throw new AppError('bad_request', 'a metrics body is {"series": [counter, …]}');
    }
    return json({ success: true });
  });
  return new Elysia({ tags: ['compatibility'] }).post(SEGMENT_METRICS_PATH, metrics, {
    parse: 'none',
    detail: metricsDoc(),
  });
}

const Counter = t.Object(
  {
    type: t.String({ description: '`Counter`.' }),
    metric: t.String({ description: 'e.g. `analytics_js.invoke`.' }),
    value: t.Number(),
    tags: t.Record(t.String(), t.Unknown()),
  },
  { additionalProperties: true },
);

const EXAMPLE = {
  series: [
    {
      type: 'Counter',
      metric: 'analytics_js.invoke',
      value: 1,
      tags: { method: 'track', library: 'analytics.js', library_version: 'npm:next-1.84.3' },
    },
  ],
};

function metricsDoc() {
  const e = INGEST_ERROR_TEXT;
  return {
    summary: "Segment: analytics.js's usage metrics (/v1/m)",
    description:
      "The library's own counters, which analytics.js sends every 30 s for Segment's " +
      'monitoring. Checked and answered; not stored (they are not events of the site). ' +
      '`cdnSettings.metrics.sampleRate: 0` stops analytics.js sending them.',
    requestBody: jsonRequestBody(t.Object({ series: t.Array(Counter) }), EXAMPLE),
    responses: {
      200: jsonAnswer('Read (not stored)', t.Object({ success: t.Literal(true) }), {
        success: true,
      }),
      ...errorAnswers(
        {
          // A body over the limit is a 400 too, as Segment answers it (asSegmentError).
          400: `Malformed JSON, no \`series\` list, or over ${METRICS_KIB_MAX} KiB`,
          408: SLOW_BODY_TEXT,
          415: e.mediaType,
        },
        () => ErrorOut,
      ),
    },
  };
}
