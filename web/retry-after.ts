// The wait a busy server (429, 503) asks for in its Retry-After header, for a read and for a
// refresh of the sign-in's access token alike.

const RETRY_AFTER_DEFAULT_MS = 5000;
const RETRY_AFTER_MIN_MS = 1000;
const RETRY_AFTER_MAX_MS = 60_000;

/** A 429 (a rate limit, full reads) or 503 (overloaded, restarting): not an answer yet. */
export const isBusy = (response: Response) => response.status === 429 || response.status === 503;

/** The wait Retry-After (in seconds) asks for, bounded; null when none is sent or readable. */
export function retryAfterHeaderMs(response: Response): number | null {
  const seconds = Number(response.headers.get('retry-after') ?? Number.NaN);
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  return Math.min(Math.max(seconds * 1000, RETRY_AFTER_MIN_MS), RETRY_AFTER_MAX_MS);
}

/** The wait a 429 or 503 asks for, or a default when it names none. */
export const retryAfterMsOf = (response: Response): number =>
  retryAfterHeaderMs(response) ?? RETRY_AFTER_DEFAULT_MS;
