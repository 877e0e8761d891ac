// The one place errors become responses. Shape everywhere (STYLE.md):
//   422 → {"detail":[{"loc":[…],"msg":"…","type":"…"}]}
//   else → {"detail":"human message","code":"…"}; a 5xx never leaks its cause.

import { ValueErrorType } from '@sinclair/typebox/errors';
import { AppError, type FieldIssue, isOutOfSpace, type Logger } from '../core/index.ts';

export function errorResponse(error: AppError, retryAfterSeconds: number): Response {
  const headers: Record<string, string> = {
    ...error.headers,
    'content-type': 'application/json',
  };
  if (error.status === 503 || error.status === 429) {
    const seconds =
      error.retryAfterMs === undefined ? retryAfterSeconds : Math.ceil(error.retryAfterMs / 1000);
    headers['retry-after'] = String(Math.max(1, seconds));
  }
  const body =
    error.status === 422
      ? { detail: error.issues ?? [] }
      : { detail: error.message, code: error.code };
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/**
 * Maps any error thrown while handling a request to an AppError. `request` lets a validation
 * error of one coerced query value name its parameter (Elysia reports it without the name).
 */
export function toAppError(
  error: unknown,
  frameworkCode: string | number,
  log: Logger,
  request?: Request,
): AppError {
  if (error instanceof AppError) return error;
  switch (frameworkCode) {
    case 'NOT_FOUND':
      return new AppError('not_found', 'no route matches this method and path');
    case 'PARSE':
      return new AppError('invalid_json', 'the body could not be parsed');
    case 'VALIDATION':
      return AppError.validation(issuesOfFramework(error, request));
    case 'INVALID_COOKIE_SIGNATURE':
      return new AppError('bad_request', 'invalid cookie signature');
  }
  if (error instanceof Error && error.name === 'AbortError') {
    // The body stopped arriving because the client went away (or shutdown cut a half-sent
    // request): nothing is wrong with the server, and no answer can reach the client.
    return new AppError('client_closed', 'the client closed the connection during its request');
  }
  if (isOutOfSpace(error)) {
    // A write (SQLite's: an account, a key, a deletion) found the disk full; it wrote nothing.
    log.warn('a write found the disk full', { error: String(error) });
    return new AppError('overloaded', "the data directory's disk is full; retry later", {
      cause: error,
    });
  }
  log.error('unhandled error', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new AppError('internal', 'internal server error');
}

interface FrameworkIssue {
  /** TypeBox's kind of error (ValueErrorType). */
  type?: number;
  path?: string;
  /** The value that failed; absent for a parameter that was not sent. */
  value?: unknown;
  message?: string;
  summary?: string;
  schema?: {
    anyOf?: { const?: unknown; type?: string; format?: string }[];
    minimum?: number;
    maximum?: number;
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    const?: unknown;
    /** What leaving the parameter out means, said when it is empty (http/read-params.ts). */
    'x-empty'?: string;
  };
}

interface FrameworkValidationError {
  type?: string;
  value?: unknown;
  all?: FrameworkIssue[];
}

/** Elysia's ValidationError (query, params) → FastAPI-style issues. */
function issuesOfFramework(error: unknown, request?: Request): FieldIssue[] {
  const e = error as FrameworkValidationError;
  // 'property': one query value failed while Elysia coerced it to a number; the error carries
  // the value and the rule but not the parameter, so find the parameter that holds the value.
  const coerced = e.type === 'property';
  const where = e.type === 'params' ? 'path' : coerced ? 'query' : (e.type ?? 'query');
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const item of e.all ?? []) {
    const path = item.path ?? '';
    if (seen.has(path)) continue;
    seen.add(path);
    const field = path.split('/').filter(Boolean);
    if (coerced && field.length === 0) field.push(...parametersHolding(request, e.value));
    const name = field.length === 1 ? (field[0] as string) : where;
    // A required parameter not sent: said as a missing body field is (validate.ts), with
    // FastAPI's type, not as a string that was `undefined`.
    if (!coerced && field.length > 0 && item.value === undefined) {
      issues.push({ loc: [where, ...field], msg: `${name} is required`, type: 'missing' });
      continue;
    }
    issues.push({ loc: [where, ...field], msg: `${name}: ${ruleOf(item)}`, type: 'value_error' });
  }
  return issues;
}

/**
 * The query parameters of `request` whose text is `value` (the one, when only one does). A
 * number is matched by its value too: Elysia hands over what it coerced, and `1e4`, `+5000`,
 * `05000`, `99999999999999999999` (1e20) or a blank (0) are not the text they were sent as.
 */
function parametersHolding(request: Request | undefined, value: unknown): string[] {
  if (request === undefined) return [];
  const names = new Set<string>();
  for (const [name, raw] of new URL(request.url).searchParams) {
    const sameNumber = typeof value === 'number' && raw !== '' && Number(raw) === value;
    if (raw === String(value) || sameNumber) names.add(name);
  }
  return names.size === 1 ? [...names] : [];
}

/**
 * The broken rule in words: a choice of constants lists them (Elysia says only 'string'), and
 * a query integer (Elysia's union of an integer and its text) is "a whole number" (Elysia says
 * "should be one of: 'integer', 'integer'").
 */
function ruleOf(item: FrameworkIssue): string {
  const anyOf = item.schema?.anyOf;
  const choices = anyOf?.map((s) => s.const);
  if (choices !== undefined && choices.length > 0 && choices.every((c) => c !== undefined)) {
    return `must be one of ${choices.map((c) => String(c)).join(', ')}`;
  }
  const integer = (s: { type?: string; format?: string }) =>
    s.type === 'integer' || (s.type === 'string' && s.format === 'integer');
  if (anyOf !== undefined && anyOf.length > 0 && anyOf.every(integer)) {
    return 'must be a whole number';
  }
  return boundOf(item) ?? item.summary ?? item.message ?? 'invalid value';
}

/**
 * A bound or form the value breaks, in the words of a body's issues (validate.ts), where
 * TypeBox's say "Expected string length greater or equal to 1" of an empty parameter.
 */
function boundOf(item: FrameworkIssue): string | undefined {
  const s = item.schema ?? {};
  switch (item.type) {
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${s.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${s.maximum}`;
    case ValueErrorType.StringMinLength:
      if (s.minLength !== 1) return `must be at least ${s.minLength} characters`;
      return s['x-empty'] === undefined
        ? 'must not be empty'
        : `must not be empty; ${s['x-empty']}`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${s.maxLength} characters`;
    case ValueErrorType.StringPattern:
      return `must match ${s.pattern}`;
    case ValueErrorType.Literal:
      return `must be ${String(s.const)}`;
    case ValueErrorType.Boolean:
      return 'must be true or false';
    default:
      return undefined;
  }
}
