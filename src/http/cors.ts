// CORS. Ingest routes take browser beacons from any site: `Access-Control-Allow-Origin: *`,
// never credentials (cookies are not how Tally authenticates; write keys may be bound to origins,
// which the tenant resolver enforces). Every other route answers only the configured origins.
// Runs in onRequest, so it covers routes registered in any order, errors included.

import { Elysia } from 'elysia';

export interface IngestRoute {
  method: string;
  /** The exact path; a trailing slash is ignored on both sides. */
  path: string;
}

/** The native ingest routes; compat routes add theirs to `ingestRoutes`. */
export const NATIVE_INGEST_ROUTES: readonly IngestRoute[] = [
  { method: 'POST', path: '/api/v1/events' },
  { method: 'POST', path: '/api/v1/events/batch' },
  { method: 'POST', path: '/api/v1/metrics' },
];

export interface CorsOptions {
  ingestRoutes: readonly IngestRoute[];
  /** Origins allowed on read and account routes (CORS_ORIGINS); exact `scheme://host[:port]`. */
  readOrigins: readonly string[];
  /** How long a browser may cache a preflight answer. */
  preflightMaxAgeSeconds?: number;
  /** Told of each request answered here (preflights), which no route or later hook sees. */
  onAnswered?: (request: Request, status: number) => void;
}

const INGEST_HEADERS = 'Content-Type, Content-Encoding, Authorization, X-Tally-Key';
/** Content-Encoding: the SQL and account routes take gzip bodies, as ingest does. */
const READ_HEADERS = 'Content-Type, Content-Encoding, Authorization, X-Tally-Key';
/** Every method a read or account route has (PATCH: a project's update). */
const READ_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const EXPOSED = 'Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset';
const HEADER_LIST = /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/;

export function cors(options: CorsOptions) {
  const ingest = new Set(options.ingestRoutes.map((r) => routeKey(r.method, r.path)));
  const readOrigins = new Set(options.readOrigins);
  const maxAge = String(options.preflightMaxAgeSeconds ?? 86_400);
  const isIngest = (method: string, path: string) => ingest.has(routeKey(method, path));

  const answer = (request: Request, response: Response) => {
    options.onAnswered?.(request, response.status);
    return response;
  };

  return new Elysia({ name: 'cors' }).onRequest(({ request, set }) => {
    const origin = request.headers.get('origin');
    if (origin === null) return;
    const path = new URL(request.url).pathname;
    const wanted = request.headers.get('access-control-request-method');
    if (request.method === 'OPTIONS' && wanted !== null) {
      if (isIngest(wanted, path)) {
        const asked = request.headers.get('access-control-request-headers');
        const allowHeaders = asked !== null && HEADER_LIST.test(asked) ? asked : INGEST_HEADERS;
        return answer(
          request,
          preflight({
            'access-control-allow-origin': '*',
            'access-control-allow-methods': `${wanted.toUpperCase()}, OPTIONS`,
            'access-control-allow-headers': allowHeaders,
            'access-control-max-age': maxAge,
          }),
        );
      }
      if (!readOrigins.has(origin)) return answer(request, originRefused(origin));
      return answer(
        request,
        preflight({
          'access-control-allow-origin': origin,
          'access-control-allow-methods': READ_METHODS,
          'access-control-allow-headers': READ_HEADERS,
          'access-control-max-age': maxAge,
          vary: 'Origin',
        }),
      );
    }
    if (isIngest(request.method, path)) {
      set.headers['access-control-allow-origin'] = '*';
      set.headers['access-control-expose-headers'] = EXPOSED;
      return;
    }
    set.headers.vary = 'Origin';
    if (readOrigins.has(origin)) {
      set.headers['access-control-allow-origin'] = origin;
      set.headers['access-control-expose-headers'] = EXPOSED;
    }
  });
}

function routeKey(method: string, path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return `${method.toUpperCase()} ${trimmed}`;
}

function preflight(headers: Record<string, string>): Response {
  return new Response(null, { status: 204, headers });
}

function originRefused(origin: string): Response {
  return new Response(
    JSON.stringify({ detail: `origin ${origin} is not allowed here`, code: 'forbidden' }),
    { status: 403, headers: { 'content-type': 'application/json', vary: 'Origin' } },
  );
}
