// errorResponse: README "Settings" — RETRY_AFTER_SECONDS is the Retry-After of every 503 and of
// a 429 for a tenant's overload; a rate limit's 429 says when its bucket has a token again.

import { expect, test } from 'bun:test';
import { AppError, createLogger } from '../../src/core/index.ts';
import { errorResponse, toAppError } from '../../src/http/errors.ts';

const retryAfter = (error: AppError, seconds: number) =>
  errorResponse(error, seconds).headers.get('retry-after');

test('503s and 429s carry Retry-After: the setting, unless the refusal knows its own wait', () => {
  expect(retryAfter(new AppError('overloaded', 'full'), 7)).toBe('7');
  expect(retryAfter(new AppError('not_ready', 'starting'), 7)).toBe('7');
  expect(retryAfter(new AppError('tenant_overloaded', 'busy'), 7)).toBe('7');
  const limited = new AppError('rate_limited', 'slow down', { retryAfterMs: 2_500 });
  expect(retryAfter(limited, 7)).toBe('3');
  // Never 0: a client told to retry at once would.
  expect(retryAfter(new AppError('rate_limited', 'x', { retryAfterMs: 0 }), 7)).toBe('1');
  for (const code of ['bad_request', 'not_found', 'forbidden', 'payload_too_large'] as const) {
    expect([code, retryAfter(new AppError(code, 'x'), 7)]).toEqual([code, null]);
  }
});

// README "Ingest": a write of any route that finds the disk full (SQLite's SQLITE_FULL, ENOSPC,
// EDQUOT) is a 503 `overloaded` to retry; another failure (EIO) is a 500 that leaks nothing.
test('a write that finds the disk full is 503 overloaded; another failure is 500', () => {
  const log = createLogger('error', () => {});
  const failed = (code: string) => toAppError(Object.assign(new Error('no'), { code }), '', log);
  for (const code of ['SQLITE_FULL', 'ENOSPC', 'EDQUOT']) {
    const error = failed(code);
    expect([code, error.status, error.code]).toEqual([code, 503, 'overloaded']);
    expect(retryAfter(error, 7)).toBe('7');
  }
  expect([failed('EIO').status, failed('EIO').message]).toEqual([500, 'internal server error']);
});
