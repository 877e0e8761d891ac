// The one place errors become responses. Shape everywhere (STYLE.md):
//   422 → {"detail":[{"loc":[…],"msg":"…","type":"…"}]}
//   else → {"detail":"human message","code":"…"}; a 5xx never leaks its cause.

import { AppError, type FieldIssue, type Logger } from '../core/index.ts';

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

/** Maps any error thrown while handling a request to an AppError. */
export function toAppError(error: unknown, frameworkCode: string | number, log: Logger): AppError {
  if (error instanceof AppError) return error;
  switch (frameworkCode) {
    case 'NOT_FOUND':
      return new AppError('not_found', 'no route matches this method and path');
    case 'PARSE':
      return new AppError('invalid_json', 'the body could not be parsed');
    case 'VALIDATION':
      return AppError.validation(issuesOfFramework(error));
    case 'INVALID_COOKIE_SIGNATURE':
      return new AppError('bad_request', 'invalid cookie signature');
  }
  log.error('unhandled error', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new AppError('internal', 'internal server error');
}

interface FrameworkValidationError {
  type?: string;
  all?: { path?: string; message?: string; summary?: string }[];
}

/** Elysia's ValidationError (query, params) → FastAPI-style issues. */
function issuesOfFramework(error: unknown): FieldIssue[] {
  const e = error as FrameworkValidationError;
  const where = e.type === 'params' ? 'path' : (e.type ?? 'query');
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const item of e.all ?? []) {
    const path = item.path ?? '';
    if (seen.has(path)) continue;
    seen.add(path);
    const field = path.split('/').filter(Boolean);
    const name = field.at(-1) ?? where;
    issues.push({
      loc: [where, ...field],
      msg: `${name}: ${item.summary ?? item.message ?? 'invalid value'}`,
      type: 'value_error',
    });
  }
  return issues;
}
