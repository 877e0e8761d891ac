// The compatibility routes as one Elysia plugin: the APIs of the five reference services (seed
// 001 is the native /api/v1 itself) and the wire protocols of Segment, PostHog, Umami and
// Plausible, each in its own file, all writing through the one ingest path of the engine; and
// Plausible's Stats API v1 and v2 and Umami's read API, reading through the query API's read
// path.

import { Elysia } from 'elysia';
import { startingWaitLimits } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import type { IngestRoute } from '../cors.ts';
import { errorResponse, toAppError } from '../errors.ts';
import { plausibleRoutes } from './plausible.ts';
import { plausibleQueryRoutes } from './plausible-query.ts';
import { plausibleStatsRoutes } from './plausible-stats.ts';
import { POSTHOG_PATHS, posthogRoutes, RECORDINGS_PATH } from './posthog.ts';
import { POSTHOG_FLAG_PATHS, posthogConfigRoutes } from './posthog-config.ts';
import { POSTHOG_V1_PATH, posthogV1Routes } from './posthog-v1.ts';

export { posthogConfigScriptPathDocs } from './posthog-config.ts';

import { RoomWaits } from './room-wait.ts';
import { seed000Routes } from './seed-000.ts';
import { seed002Routes } from './seed-002.ts';
import { seed003Routes } from './seed-003.ts';
import { seed004Routes } from './seed-004.ts';
import { SEGMENT_BATCH_PATHS, SEGMENT_SHORT_PATHS, segmentRoutes } from './segment.ts';
import { SEGMENT_TYPES } from './segment-message.ts';
import { SEGMENT_METRICS_PATH, segmentMetricsRoutes } from './segment-metrics.ts';
import { segmentPixelRoutes } from './segment-pixel.ts';
import { umamiRoutes } from './umami.ts';
import { umamiReadRoutes } from './umami-read.ts';

export { umamiBrokenPathAnswer } from './umami-errors.ts';
export { API_KEY_HEADER as UMAMI_API_KEY_HEADER } from './umami-read-auth.ts';

/** Every compatibility ingest route, for the app's CORS (`*`, beacons from any site). */
export const COMPAT_INGEST_ROUTES: readonly IngestRoute[] = [
  '/ingest',
  '/events',
  '/events/bulk',
  '/api/events/',
  '/event',
  ...SEGMENT_BATCH_PATHS.map((path) => `/v1/${path}`),
  ...SEGMENT_TYPES.map((type) => `/v1/${type}`),
  ...Object.keys(SEGMENT_SHORT_PATHS).map((short) => `/v1/${short}`),
  SEGMENT_METRICS_PATH,
  ...POSTHOG_PATHS,
  RECORDINGS_PATH,
  POSTHOG_V1_PATH,
  ...POSTHOG_FLAG_PATHS,
  '/api/send',
  '/api/batch',
  '/api/event',
]
  .map((path) => ({ method: 'POST', path }))
  // PostHog's capture paths answer a GET as well (its body the query's `data`).
  .concat(POSTHOG_PATHS.map((path) => ({ method: 'GET', path })));

/** The ingest paths of Umami and Plausible, whose clients never resend (room-wait.ts). */
const NO_RETRY_PATHS: readonly string[] = ['/api/send', '/api/batch', '/api/event'];

/**
 * How long a request waits for the store while it opens before its 503 (listener.ts): a PostHog
 * capture (a POST to each classic path and v1's) startingWaitLimits.waitMs (why: there); an
 * Umami or Plausible event `noRetryWaitMs` (NO_RETRY_WAIT), as it waits for room on an
 * overloaded node; any other request none.
 */
export function startingWaitOf(request: Request, noRetryWaitMs: number): number {
  if (request.method !== 'POST') return 0;
  const path = new URL(request.url).pathname;
  if (path === POSTHOG_V1_PATH || (POSTHOG_PATHS as readonly string[]).includes(path)) {
    return startingWaitLimits.waitMs;
  }
  return NO_RETRY_PATHS.includes(path) ? noRetryWaitMs : 0;
}

/**
 * Every compatibility route. Its own error handler maps errors exactly as the app's does, so
 * the plugin answers the same whether it is mounted inside createApp or beside it.
 */
export function compatRoutes(deps: AppDeps) {
  // One count of waiting requests for the node, across Umami's and Plausible's routes.
  const waits = new RoomWaits(deps.options.noRetryWaitMs ?? 0);
  return new Elysia()
    .onError(({ error, code, set, request }) => {
      const appError = toAppError(error, code, deps.log, request);
      set.status = appError.status;
      return errorResponse(appError, deps.options.retryAfterSeconds);
    })
    .use(seed000Routes(deps))
    .use(seed002Routes(deps))
    .use(seed003Routes(deps))
    .use(seed004Routes(deps))
    .use(segmentRoutes(deps))
    .use(segmentMetricsRoutes(deps))
    .use(segmentPixelRoutes(deps))
    .use(posthogRoutes(deps))
    .use(posthogV1Routes(deps))
    .use(posthogConfigRoutes(deps))
    .use(umamiRoutes(deps, waits))
    .use(plausibleRoutes(deps, waits))
    .use(plausibleStatsRoutes(deps))
    .use(plausibleQueryRoutes(deps))
    .use(umamiReadRoutes(deps));
}
