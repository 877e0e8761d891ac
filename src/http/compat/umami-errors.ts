// Umami's error body, `{"error":{"message","code","status"}}` (its src/lib/response.ts), for
// both sides of its API: collection (/api/send, /api/batch) and reading (/api/auth/…,
// /api/websites/…). Tally's field issues (a 422) are Umami's 400, with the issues kept.

import { t } from 'elysia';
import { AppError, type FieldIssue } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import { ValidationErrorOut } from '../model.ts';
import { jsonInteger } from './docs.ts';
import { issuesText } from './ingest.ts';
import { CORS_HEADERS, type ErrorShape, errorHeaders, guarded, json } from './responses.ts';

/** Umami's message of its 500 (serverError()): a 5xx leaks no cause, as Tally's own. */
const SERVER_ERROR_MESSAGE = 'Server error';

/** Umami's code of each status it answers (a 5xx is `server-error`). */
const CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  413: 'payload-too-large',
  415: 'bad-request',
  429: 'too-many-requests',
};

export const UmamiErrorOut = t.Object({
  error: t.Object({
    message: t.String(),
    code: t.String({ description: 'bad-request, unauthorized, forbidden, … or server-error.' }),
    status: jsonInteger(),
    issues: t.Optional(ValidationErrorOut.properties.detail),
  }),
});

/** Umami answers bad input with 400. */
export function asUmamiError(error: AppError): AppError {
  if (error.code === 'validation_failed') {
    return new AppError('bad_request', issuesText(error.issues ?? []), { issues: error.issues });
  }
  if (error.code === 'invalid_json') return new AppError('bad_request', error.message);
  return error;
}

export function umamiError(error: AppError): { error: Record<string, unknown> } {
  const code = CODES[error.status] ?? (error.status >= 500 ? 'server-error' : error.code);
  const issues: FieldIssue[] | undefined = error.issues;
  return {
    error: {
      message: error.code === 'internal' ? SERVER_ERROR_MESSAGE : error.message,
      code,
      status: error.status,
      ...(issues === undefined ? {} : { issues }),
    },
  };
}

/** The ErrorShape of Umami's routes: its body, Retry-After on 429 and 503, CORS for beacons. */
function umamiErrorShape(retryAfterSeconds: number): ErrorShape {
  return (error) => {
    const e = asUmamiError(error);
    const headers = { ...CORS_HEADERS, ...errorHeaders(e, retryAfterSeconds) };
    return json(umamiError(e), e.status, headers);
  };
}

/**
 * The guard of Umami's routes: what a handler throws is answered in Umami's shape, an
 * unexpected error too (logged as the app logs it, then Umami's 500 `server-error`): Umami's
 * clients read `error.message` of any answer that is not a 2xx.
 */
export function umamiGuard(deps: Pick<AppDeps, 'options' | 'log'>) {
  const shape = umamiErrorShape(deps.options.retryAfterSeconds);
  return <C>(handler: (ctx: C) => Promise<Response>) => guarded(shape, handler, deps.log);
}

/** Where Umami's routes take a parameter in the path: the website's, a session's, an event's. */
const UMAMI_PARAMETER_PATHS = ['/api/websites/', '/api/realtime/'];

/**
 * Umami's answer to a path under its routes whose percent-encoding is broken: the 400 Umami's
 * server (Next.js: a DecodeError of the route's parameter) answers, in Umami's body, as every
 * other error of those routes; null for any other path.
 */
export function umamiBrokenPathAnswer(path: string, retryAfterSeconds: number): Response | null {
  if (!UMAMI_PARAMETER_PATHS.some((prefix) => path.startsWith(prefix))) return null;
  const error = new AppError('bad_request', `the path ${path} is not valid percent-encoding`);
  return umamiErrorShape(retryAfterSeconds)(error);
}

/** Umami's 404, for a session with no events. */
export function umamiNotFound(): AppError {
  return new AppError('not_found', 'Not found');
}
