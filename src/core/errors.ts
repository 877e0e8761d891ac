// Expected failures. One error type with a machine-readable code; http/errors.ts maps it to a
// response once. Hot-path outcomes are returned values, not AppErrors (see STYLE.md).

export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'validation_failed'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'method_not_allowed'
  | 'conflict'
  | 'limit_reached'
  | 'upgrade_required'
  | 'query_timeout'
  | 'request_timeout'
  | 'overloaded'
  | 'rate_limited'
  | 'tenant_overloaded'
  | 'not_ready'
  | 'shutting_down'
  | 'client_closed'
  | 'internal';

/** One item of a 422 body, in FastAPI's shape. */
export interface FieldIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  /**
   * What the rule found, where FastAPI says it apart from `msg` (`{"error":"Extra data"}`;
   * Pydantic v1's `{"limit_value":3}`).
   */
  ctx?: Record<string, unknown>;
  /** The value the rule read, where FastAPI on Pydantic v2 shows it (the seed services). */
  input?: unknown;
}

const statusByCode: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 422,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  // Existed, and will not come back (an expired invitation): RFC 9110 §15.5.11.
  gone: 410,
  method_not_allowed: 405,
  conflict: 409,
  // A named bound (projects a user owns, keys of a project, …) is full: the state conflicts
  // with the request until something is removed or revoked, as a taken id does.
  limit_reached: 409,
  upgrade_required: 426,
  query_timeout: 408,
  // The body did not arrive within requestLimits.bodyReadTimeoutMs (RFC 9110 §15.5.9).
  request_timeout: 408,
  overloaded: 503,
  rate_limited: 429,
  tenant_overloaded: 429,
  not_ready: 503,
  shutting_down: 503,
  // nginx's 499: the client closed the connection before its request was read; never sent.
  client_closed: 499,
  internal: 500,
};

export interface AppErrorOptions {
  issues?: FieldIssue[];
  retryAfterMs?: number;
  /** Extra response headers, e.g. X-RateLimit-* on a 429. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly issues: FieldIssue[] | undefined;
  readonly retryAfterMs: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = statusByCode[code];
    this.issues = options.issues;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers;
  }

  static validation(issues: FieldIssue[]): AppError {
    return new AppError('validation_failed', 'validation failed', { issues });
  }
}
