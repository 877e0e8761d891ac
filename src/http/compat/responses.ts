// Responses of the compatibility routes: JSON with a status, the CORS headers browser beacons
// need, Retry-After on overload, and a guard that turns an AppError into the error shape of
// each API's clients (FastAPI's detail, Umami's error object, Plausible's errors map, …).

import { Elysia } from 'elysia';
import { AppError, type Logger } from '../../core/index.ts';
import { toAppError } from '../errors.ts';

/** Headers that let a page on any origin post a beacon (no credentials). */
export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
};

const PREFLIGHT_HEADERS: Record<string, string> = {
  ...CORS_HEADERS,
  'access-control-allow-methods': 'POST, OPTIONS',
  // The Umami tracker's own headers (x-umami-website-id, -hostname, -cache) included.
  'access-control-allow-headers':
    'content-type, content-encoding, authorization, x-umami-cache, x-umami-website-id, ' +
    'x-umami-hostname, x-tally-key',
  'access-control-max-age': '86400',
};

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
  });
}

/** The headers every error response carries: Retry-After on 429 and 503, and the error's own. */
export function errorHeaders(error: AppError, retryAfterSeconds: number): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 429 || error.status === 503) {
    const seconds =
      error.retryAfterMs === undefined ? retryAfterSeconds : Math.ceil(error.retryAfterMs / 1000);
    headers['retry-after'] = String(Math.max(1, seconds));
  }
  return headers;
}

/** Maps an AppError to the response an API's clients expect. */
export type ErrorShape = (error: AppError) => Response;

/**
 * Runs `handler`; an AppError it throws becomes `shape(error)`. Anything else is a bug: given
 * `log`, it is mapped (and logged) as the app's error handler maps it (a 500 that leaks
 * nothing) and answered by `shape` too; else it goes on to the app's error handler.
 */
export function guarded<C>(
  shape: ErrorShape,
  handler: (ctx: C) => Promise<Response>,
  log?: Logger,
): (ctx: C) => Promise<Response> {
  return async (ctx) => {
    try {
      return await handler(ctx);
    } catch (error) {
      if (error instanceof AppError) return shape(error);
      if (log !== undefined) return shape(toAppError(error, 'UNKNOWN', log));
      throw error;
    }
  };
}

/** OPTIONS answers for browser beacons to `paths` (Umami's JSON body needs a preflight). */
export function preflightRoutes(paths: readonly string[]) {
  const app = new Elysia();
  for (const path of paths) {
    app.options(path, () => new Response(null, { status: 204, headers: PREFLIGHT_HEADERS }));
  }
  return app;
}
