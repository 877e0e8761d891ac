// The response headers of the rate limits in the OpenAPI document, so a client generated from
// it can read them: Retry-After on every 429 and 503 (errors.ts errorResponse and compat's
// errorHeaders send it with each), and X-RateLimit-Limit/Remaining/Reset (auth/rate-limit.ts
// rateLimitHeaders) on every answer of a request that spends a key's, an alias's or a user's
// rate once it is charged (auth/resolver.ts, with the credential's check: its later refusals,
// a 422 or a 404, keep them) and on every 429 of a limit. Doc only.

import type { OpenAPIV3 } from 'openapi-types';

type Answer = OpenAPIV3.ResponseObject;
type Operation = { responses?: Record<string, unknown> };
type Document = { paths?: Record<string, Record<string, Operation>> };

/** The rate an operation spends (RATE_WRITE_*, RATE_READ_*), with AUTH_MODE=required. */
type SpentRate = 'write' | 'read';

/** Each rule: method and path pattern → the rate spent; the first that matches applies. */
const RULES: [method: string, path: RegExp, rate: SpentRate][] = [
  // Ingest: Tally's own, the reference services', Segment's, PostHog's, Umami's, Plausible's.
  ['post', /^\/api\/v1\/(events|events\/batch|metrics)$/, 'write'],
  ['post', /^\/(ingest|events|events\/bulk|event|api\/events\/)$/, 'write'],
  ['post', /^\/v1\/(batch|import|track|identify|page|screen|group|alias|[tipsgab])$/, 'write'],
  ['get', /^\/v1\/pixel\/(track|identify|page|screen|group|alias)$/, 'write'],
  ['post', /^\/(batch|capture|e|i\/v0\/e|i\/v0\/ai\/batch|engage|track)\/$/, 'write'],
  // PostHog's capture by GET: the body in the query's `data`, spending what a POST spends.
  ['get', /^\/(batch|capture|e|i\/v0\/e|i\/v0\/ai\/batch|engage|track)\/$/, 'write'],
  ['post', /^\/i\/v1\/analytics\/events$/, 'write'],
  ['post', /^\/api\/(send|batch|event)$/, 'write'],
  // Reads: Tally's own (the live sockets' handshakes too), the reference services',
  // Plausible's and Umami's.
  ['get', /^\/api\/v1\/(events|metrics|stats|timeseries|funnel|cohorts|export)(\/|$)/, 'read'],
  ['get', /^\/api\/v1\/(live|ws\/metrics)$/, 'read'],
  ['post', /^\/api\/v[12]\/query$/, 'read'],
  ['get', /^\/(events|metrics|stats|api\/events\/.*)$/, 'read'],
  ['get', /^\/api\/(websites|realtime|me\/websites|me\/teams)(\/|$)/, 'read'],
];

/** The rate `method` `path` spends, by RULES; null when it spends none. */
function spentRateOf(method: string, path: string): SpentRate | null {
  for (const [m, pattern, rate] of RULES) {
    if (m === method && pattern.test(path)) return rate;
  }
  return null;
}

const ONCE_CHARGED =
  'Sent on every answer once the credential is checked and the request charged (a later ' +
  'refusal, a 404 or a 422, too); an answer before that (a 401, a body refused before its ' +
  'tenant is known) has none.';

const REQUIRED_ONLY =
  "Sent with AUTH_MODE=required only (open mode's tenancy charges no key's or user's rate).";

const RETRY_AFTER_HEADER: OpenAPIV3.HeaderObject = {
  description: 'Seconds to wait before sending the request again.',
  schema: { type: 'integer', minimum: 1 },
};

/** Whose each spent rate is. */
const RATE_OF: Record<SpentRate, string> = {
  write:
    "The write rate (RATE_WRITE_PER_SECOND, RATE_WRITE_BURST) is a project's: its write keys " +
    'share one bucket, its keyless site-alias beacons another; a beacon charged to the ' +
    'buckets of several projects shows the one with the least remaining.',
  read:
    "The read rate (RATE_READ_PER_SECOND, RATE_READ_BURST) is a project's for its read keys, " +
    "a user's for an access token.",
};

/** The three X-RateLimit-* headers, showing `bucket` (`note` says more of it). */
function rateLimitHeaderDocs(bucket: string, note = ''): Record<string, OpenAPIV3.HeaderObject> {
  const integer = (description: string) => ({
    description: `${description}${note}`,
    schema: { type: 'integer' as const },
  });
  return {
    'X-RateLimit-Limit': integer(`The size in requests of ${bucket}.`),
    'X-RateLimit-Remaining': integer('Whole requests left in that bucket now.'),
    'X-RateLimit-Reset': integer('Seconds until that bucket is full again.'),
  };
}

/** The headers of an answer to a request that spent `rate`. */
function spentRateHeaders(rate: SpentRate) {
  return rateLimitHeaderDocs(
    'the bucket the request was charged to (charged to none, the first that refused it)',
    ` ${RATE_OF[rate]} ${REQUIRED_ONLY} ${ONCE_CHARGED}`,
  );
}

/** The headers of a 429 of another limit (logins, registrations, invitations…). */
const REFUSING_LIMIT_HEADERS = rateLimitHeaderDocs(
  'the bucket of the limit that refused the request',
);

/** `answer` with `headers` added (a copy: answers are shared between operations). */
function withHeaders(answer: Answer, headers: Record<string, OpenAPIV3.HeaderObject>): Answer {
  return { ...answer, headers: { ...answer.headers, ...headers } };
}

/** An answer that charges no rate: the credential was not accepted. */
const UNAUTHENTICATED = '401';

/**
 * Puts the rate limits' headers on `doc`'s answers (in place, idempotent): Retry-After on each
 * 429 and 503, X-RateLimit-* on each 429 and on every answer but the 401 of each operation
 * spending a rate (its refusal too: a 429, or PostHog's 503, as posthog-js drops a request
 * answered 429 and resends one answered 503).
 */
export function documentRateLimits(doc: Document): void {
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(operations)) {
      if (typeof op !== 'object' || op === null || op.responses === undefined) continue;
      const rate = spentRateOf(method, path);
      const spent = rate === null ? null : spentRateHeaders(rate);
      for (const [status, answer] of Object.entries(op.responses)) {
        if (typeof answer !== 'object' || answer === null || '$ref' in answer) continue;
        let headers: Record<string, OpenAPIV3.HeaderObject> = {};
        if (status === '429' || status === '503') headers['Retry-After'] = RETRY_AFTER_HEADER;
        if (status === '429') headers = { ...headers, ...REFUSING_LIMIT_HEADERS };
        if (spent !== null && status !== UNAUTHENTICATED) headers = { ...headers, ...spent };
        if (Object.keys(headers).length === 0) continue;
        op.responses[status] = withHeaders(answer as Answer, headers);
      }
    }
  }
}
