// The request headers PostHog's capture v1 requires (its REQUIRED_HEADERS, rust/capture
// src/v1/context.rs): every SDK sends PostHog-Sdk-Info, PostHog-Attempt, PostHog-Request-Id
// and PostHog-Request-Timestamp with its Content-Type and User-Agent, and PostHog answers a
// request that lacks one, or sends one it cannot read, with a 400 for the whole batch. As
// there, the check follows the key's: a request without Authorization is left to the tenancy
// (a 401 where keys are required, as PostHog answers it before any other header).

import { AppError } from '../../core/index.ts';

/** The headers PostHog's v1 capture refuses a batch without, in its order and spelling. */
const V1_REQUIRED_HEADERS = [
  'PostHog-Sdk-Info',
  'PostHog-Attempt',
  'PostHog-Request-Id',
  'PostHog-Request-Timestamp',
  'content-type',
  'user-agent',
] as const;

/** A UUID as Rust's `Uuid::parse_str` reads one: hyphenated, simple, braced or a URN. */
const UUID_TEXT =
  /^(?:urn:uuid:)?(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;
const BRACED_UUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

/** RFC 3339's form: a date, a time and a zone (captured: the date and time's fields). */
const RFC_3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Largest PostHog-Attempt: PostHog reads it as an unsigned 32-bit integer. */
const ATTEMPT_MAX = 2 ** 32 - 1;

/** 400 with PostHog's words when a header it requires is missing or unreadable. */
export function checkV1Headers(headers: Headers): void {
  if (headers.get('authorization') === null) return;
  const missing = V1_REQUIRED_HEADERS.filter((name) => headers.get(name) === null);
  if (missing.length > 0) {
    const names = missing.map((name) => `"${name}"`).join(', ');
    throw new AppError('bad_request', `request is missing required headers: [${names}]`);
  }
  const value = (name: string) => (headers.get(name) as string).trim();
  const invalid = (text: string) => new AppError('bad_request', `invalid header value: ${text}`);
  const requestId = value('PostHog-Request-Id');
  if (!UUID_TEXT.test(requestId) && !BRACED_UUID.test(requestId)) {
    throw invalid(`PostHog-Request-Id is not a valid UUID: ${requestId}`);
  }
  const attempt = value('PostHog-Attempt');
  if (!/^\+?\d+$/.test(attempt) || Number(attempt) < 1 || Number(attempt) > ATTEMPT_MAX) {
    throw invalid(`PostHog-Attempt must be a positive integer: ${attempt}`);
  }
  const sent = value('PostHog-Request-Timestamp');
  if (!isRfc3339(sent)) throw invalid(`PostHog-Request-Timestamp is not valid RFC 3339: ${sent}`);
}

/**
 * Whether `text` is a time as chrono's `parse_from_rfc3339` reads it: a day its month has, an
 * hour up to 23 and a second up to 60 (a leap second), an offset under 24 hours. JavaScript's
 * Date.parse took February 30 and 24:00 and refused a leap second.
 */
function isRfc3339(text: string): boolean {
  const match = RFC_3339.exec(text);
  if (match === null) return false;
  const [y, mo, d, h, mi, sec, offH, offM] = match.slice(1).map((f) => Number(f ?? 0));
  const [year, month, day] = [y as number, mo as number, d as number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  const time = (h as number) <= 23 && (mi as number) <= 59 && (sec as number) <= 60;
  const offset = (offH as number) <= 23 && (offM as number) <= 59;
  return month >= 1 && month <= 12 && day >= 1 && day <= monthDays && time && offset;
}
