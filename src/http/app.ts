// Builds the HTTP application from its dependencies. Never listens: main.ts does, and tests
// call `app.handle(new Request(…))` without a socket.

import { openapi } from '@elysiajs/openapi';
import { Elysia } from 'elysia';
import { CREDENTIAL_HEADERS, redactPath } from '../auth/index.ts';
import { AppError, type Logger } from '../core/index.ts';
import { AllowedMethods } from './allowed-methods.ts';
import { setBodyReadTimeout } from './body-bytes.ts';
import {
  COMPAT_INGEST_ROUTES,
  compatRoutes,
  posthogConfigScriptPathDocs,
  UMAMI_API_KEY_HEADER,
  umamiBrokenPathAnswer,
} from './compat/index.ts';
import type { AppDeps } from './context.ts';
import { requiredAuthOf, tenantOf, whenAnswered } from './context.ts';
import { cors, NATIVE_INGEST_ROUTES } from './cors.ts';
import { errorResponse, toAppError } from './errors.ts';
import { NO_STORE_HEADERS } from './no-store.ts';
import { type RouteDetail, withDocumentedParameters } from './openapi-parameters.ts';
import { authRoutes } from './routes/auth.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { invitationRoutes } from './routes/invitations.ts';
import { liveRoutes } from './routes/live.ts';
import { livePathDocs } from './routes/live-docs.ts';
import { metricRoutes } from './routes/metrics.ts';
import {
  OPENAPI_JSON_PATH,
  OPENAPI_PATH,
  openapiUiRoutes,
  swaggerUiOptions,
} from './routes/openapi-ui.ts';
import { projectRoutes } from './routes/projects.ts';
import { readRoutes } from './routes/reads.ts';
import { userRoutes } from './routes/users.ts';

export function createApp(deps: AppDeps) {
  const { log } = deps;
  const requests = requestLog(log, deps.isCut);
  const allowed = new AllowedMethods(() => app.routes);
  const app = new Elysia()
    .onError(({ error, code, set, request }) => {
      const appError =
        (code === 'NOT_FOUND' ? misrouted(request, allowed) : null) ??
        toAppError(error, code, log, request);
      set.status = appError.status;
      return errorResponse(appError, deps.options.retryAfterSeconds);
    })
    .use(requests.plugin)
    .use(credentialResponseHeaders(deps))
    .use(bodyReadTimeout(deps.options.bodyReadTimeoutMs))
    .use(
      withDocumentedParameters(
        openapi({
          path: OPENAPI_PATH,
          // Swagger UI served by this server (routes/openapi-ui.ts): the page needs no CDN.
          provider: 'swagger-ui',
          swagger: swaggerUiOptions,
          documentation: {
            info: {
              title: 'Tally',
              version: '0.1.0',
              description:
                'Self-hostable real-time event analytics: durable ingest, exact-once per event_id.',
            },
            tags: [
              { name: 'events', description: 'Ingest and read events' },
              { name: 'auth', description: 'Register, log in, rotate and revoke tokens' },
              { name: 'users', description: 'The current user' },
              {
                name: 'projects',
                description: 'Projects (tenants), members and invitations, keys and aliases',
              },
              { name: 'metrics', description: 'Metric data points' },
              { name: 'live', description: 'Live counters over WebSocket, and the dashboard' },
              { name: 'reads', description: 'Stats, time series, lists and SQL' },
              { name: 'operations', description: 'Health and readiness' },
              {
                name: 'compatibility',
                description: 'Reference-service APIs and SDK wire protocols',
              },
            ],
            // WebSocket routes, and a path with a dot, are not in the plugin's document: their
            // operations are written here.
            paths: { ...livePathDocs(), ...posthogConfigScriptPathDocs() },
          },
        }),
        OPENAPI_JSON_PATH,
        (): readonly RouteDetail[] => app.routes,
      ),
    )
    .use(openapiUiRoutes())
    .use(healthRoutes(deps))
    .use(eventRoutes(deps))
    .use(metricRoutes(deps))
    .use(
      readRoutes({
        source: deps.engine.store,
        tenantOf: (request, query, options) => deps.tenancy.forRead(request, query, options),
        queryTimeoutMs: deps.options.queryTimeoutMs,
        queryRowsMax: deps.options.queryRowsMax,
        ...(deps.options.exportPage === undefined ? {} : { exportPage: deps.options.exportPage }),
        now: () => deps.clock.now(),
        log,
        deletions: deps.engine.deletions,
        ...(deps.auth === undefined ? {} : { accessLost: deps.auth.accessLost }),
        receivedSince: (tenant, eventId) => deps.engine.dedup.receivedSince(tenant, eventId),
      }),
    )
    .use(compatRoutes(deps))
    .use(liveRoutesOf(deps))
    .use(dashboardRoutes())
    .use(
      cors({
        ingestRoutes: [...NATIVE_INGEST_ROUTES, ...COMPAT_INGEST_ROUTES],
        readOrigins: deps.options.corsOrigins ?? [],
        // A preflight is answered in onRequest, where Elysia runs no onAfterResponse.
        onAnswered: requests.note,
      }),
    )
    .use(pathEncodingCheck(deps, requests.note))
    .use(upgradeCase())
    .use(accountRoutes(deps));
  return app;
}

/**
 * 400 for a path whose percent-encoding is broken (`/events/100%`), checked on the raw path
 * before any route sees it: over a socket Bun's router decodes parameters itself (a broken
 * escape becomes U+FFFD, and `100%` reads as an event id), under app.handle Elysia hands the
 * route a null parameter. Registered after CORS, whose headers the answer keeps; answered
 * here, where Elysia runs no onAfterResponse, so `onAnswered` logs it.
 */
function pathEncodingCheck(deps: AppDeps, onAnswered?: (request: Request, status: number) => void) {
  return new Elysia({ name: 'path-encoding' }).onRequest(({ request }) => {
    // Only a path with an escape can be broken: most requests skip parsing the URL.
    if (!request.url.includes('%')) return;
    const path = new URL(request.url).pathname;
    try {
      decodeURIComponent(path);
      return;
    } catch {
      const error = new AppError('bad_request', `the path ${path} is not valid percent-encoding`);
      onAnswered?.(request, error.status);
      // Under Umami's routes, Umami's 400 in Umami's body (its clients read no other).
      const retryAfter = deps.options.retryAfterSeconds;
      return umamiBrokenPathAnswer(path, retryAfter) ?? errorResponse(error, retryAfter);
    }
  });
}

/**
 * A WebSocket handshake whose `Upgrade` value is `websocket` in another case (RFC 6455 §4.2.1:
 * the value is case-insensitive) gets the lower-case spelling: Elysia routes a handshake only
 * when the header is exactly `websocket`, and would answer `WebSocket` with 404.
 */
function upgradeCase() {
  return new Elysia({ name: 'upgrade-case' }).onRequest(({ request }) => {
    if (request.method !== 'GET') return;
    const upgrade = request.headers.get('upgrade');
    if (upgrade === null || upgrade === 'websocket') return;
    if (upgrade.toLowerCase() === 'websocket') request.headers.set('upgrade', 'websocket');
  });
}

/**
 * Why a request no route took was refused, when its path exists: a plain GET of a WebSocket
 * path is 426 with `Upgrade` (RFC 9110 §15.5.22); another method is 405 with `Allow`. Null for
 * a path no route has.
 */
function misrouted(request: Request, allowed: AllowedMethods): AppError | null {
  const path = new URL(request.url).pathname;
  if (request.method === 'GET' && allowed.upgradeOnly(path)) {
    return new AppError(
      'upgrade_required',
      `${path} is a WebSocket; open it with a WebSocket handshake (Upgrade: websocket)`,
      { headers: { upgrade: 'websocket' } },
    );
  }
  const methods = allowed.of(path);
  // None, or the method itself (a path a route did not take, e.g. `//`): a plain 404.
  if (methods.length === 0 || methods.includes(request.method)) return null;
  return new AppError(
    'method_not_allowed',
    `${request.method} is not allowed on ${path}; use ${methods.join(', ')}`,
    { headers: { allow: methods.join(', ') } },
  );
}

/** The status a request whose client went away is logged with (nginx's). */
const CLIENT_CLOSED_STATUS = 499;
/**
 * The status a request cut by shutdown is logged with: nginx's 444, a connection the server
 * closed without an answer. It was logged 499, which blames a client that was still waiting.
 */
const CUT_AT_SHUTDOWN_STATUS = 444;

/**
 * One JSON line per request at LOG_LEVEL=info. Below info the hooks are not registered at all:
 * every hook costs each request a little, and ingest is the hot path. `note` logs a request
 * answered before any route (a CORS preflight), which skips onAfterResponse. A token in the
 * path (sent where its id belongs) is logged as its id alone.
 */
function requestLog(log: Logger, isCut?: () => boolean) {
  if (!log.enabled('info')) {
    return { plugin: new Elysia({ name: 'no-request-log' }), note: undefined };
  }
  const startedAt = new WeakMap<Request, number>();
  const note = (request: Request, status: number, path = new URL(request.url).pathname) => {
    const start = startedAt.get(request);
    // Its connection closed by shutdown, not by its client (nginx's 499): no answer was sent.
    const cut = status === CLIENT_CLOSED_STATUS && isCut?.() === true;
    log.info('request', {
      method: request.method,
      path: redactPath(path),
      status: cut ? CUT_AT_SHUTDOWN_STATUS : status,
      ...(cut ? { reason: 'shutdown closed the connection' } : {}),
      duration_ms:
        start === undefined ? undefined : Math.round((performance.now() - start) * 100) / 100,
      tenant: tenantOf(request),
    });
  };
  const plugin = new Elysia()
    .onRequest(({ request }) => {
      startedAt.set(request, performance.now());
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, path, responseValue }) => {
      const status = statusOf(responseValue, set.status);
      whenAnswered(request, () => note(request, status, path));
    });
  return { plugin, note };
}

/**
 * The status a request was answered with: a handler that returns a Response (the compat routes,
 * whose errors take each SDK's shape) sets it there, not in `set.status`.
 */
function statusOf(response: unknown, setStatus: number | string | undefined): number {
  if (response instanceof Response) return response.status;
  return typeof setStatus === 'number' ? setStatus : Number(setStatus ?? 200);
}

/** Request headers that carry a credential (Umami's API key header is read as X-Tally-Key). */
const CREDENTIAL_REQUEST_HEADERS = [...CREDENTIAL_HEADERS, UMAMI_API_KEY_HEADER];

/**
 * Lets the key-checking tenancy (AUTH_MODE=required) set X-RateLimit-* on every response, and
 * marks every answer to a request carrying a credential `no-store`: it depends on that header,
 * not only on the URL, and a caching proxy keying by URL (X-Tally-Key, unlike Authorization,
 * does not keep shared caches off by itself) would hand a project's reads to anyone.
 */
function credentialResponseHeaders(deps: AppDeps) {
  const auth = requiredAuthOf(deps);
  if (auth === null) return new Elysia({ name: 'no-credential-response-headers' });
  return new Elysia().onRequest(({ request, set }) => {
    auth.tenancy.attachHeaders(request, set.headers);
    if (CREDENTIAL_REQUEST_HEADERS.some((name) => request.headers.has(name))) {
      Object.assign(set.headers, NO_STORE_HEADERS);
    }
  });
}

/**
 * A body read time other than requestLimits.bodyReadTimeoutMs (HttpOptions: tests), set on
 * every request; without one no hook is registered, and readBody takes the limit's.
 */
function bodyReadTimeout(timeoutMs: number | undefined) {
  if (timeoutMs === undefined) return new Elysia({ name: 'body-read-timeout-default' });
  return new Elysia().onRequest(({ request }) => setBodyReadTimeout(request, timeoutMs));
}

/**
 * The live WebSocket routes, when the app has a live hub; a change of access made through the
 * auth module (a key revoked, a session ended, a member removed) has it check its sockets at once.
 */
function liveRoutesOf(deps: AppDeps) {
  const hub = deps.live;
  if (hub === undefined) return new Elysia({ name: 'no-live' });
  deps.auth?.accessLost.listen(() => hub.recheckSoon());
  return liveRoutes({
    hub,
    tenancy: deps.tenancy,
    allowedOrigins: deps.options.liveAllowedOrigins ?? [],
    verifiesTokens: requiredAuthOf(deps) !== null,
  });
}

/** Users, projects and keys, when the app has an auth module. */
function accountRoutes(deps: AppDeps) {
  const { auth } = deps;
  if (auth === undefined) return new Elysia({ name: 'no-accounts' });
  return new Elysia({ name: 'accounts' })
    .use(authRoutes({ auth, trustProxy: deps.options.trustProxy }))
    .use(userRoutes({ auth, trustProxy: deps.options.trustProxy }))
    .use(projectRoutes({ auth, engine: deps.engine, live: deps.live, log: deps.log }))
    .use(invitationRoutes(auth));
}

export type App = ReturnType<typeof createApp>;
