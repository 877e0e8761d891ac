// The dashboard's authenticated fetches of the read API (stats, time series, funnels,
// cohorts) and the check of its access; a read answered 401 refreshes a sign-in's access token
// (web/sign-in.ts) and is sent again. Reads and the check of access are bounded
// (web/deadline.ts).

import type { Cohort, Funnel, Stats } from '../src/query/index.ts';
import { type Access, signedInToken } from './access.ts';
import { detailOf } from './answer-detail.ts';
import { ReadTimeout, withDeadline } from './deadline.ts';
import { isBusy, retryAfterMsOf } from './retry-after.ts';
import { canRefresh, refreshAccess, refreshWait } from './sign-in.ts';

export { type Access, loadAccess, saveProject, saveToken } from './access.ts';

/** A read-API URL with the project added as tenant_id. */
function readUrl(path: string, access: Access, params: Record<string, string> = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (access.project !== null) url.searchParams.set('tenant_id', access.project);
  return url;
}

function headersOf(access: Access): HeadersInit {
  return access.token === null ? {} : { authorization: `Bearer ${access.token}` };
}

export type Probe =
  | { kind: 'ok' }
  /** 401: a credential is needed, or the one sent is not (or no longer) good; `detail` why. */
  | { kind: 'login'; detail: string }
  | { kind: 'busy'; detail: string; retryAfterMs: number }
  /**
   * No answer about the key: the network failed, a proxy in front answered 502 or 504, or the
   * server failed to read (500, 408); checked again with backoff.
   */
  | { kind: 'unreachable'; detail: string }
  | { kind: 'refused'; detail: string };

/**
 * A read the server could not take now (429: the project's reads are full; 503: overloaded
 * or restarting), or whose expired access token could not be refreshed yet (the refresh waits
 * out a 429's or 503's Retry-After; `refresh` is why): not an answer about the credentials;
 * try again after `retryAfterMs`.
 */
export class ReadBusy extends Error {
  constructor(
    detail: string,
    readonly retryAfterMs: number,
    readonly refresh: string | null = null,
  ) {
    super(detail);
    this.name = 'ReadBusy';
  }
}

/** What a panel's note says while it waits out `busy` (stats, series, funnel, retention). */
export function busyNote(busy: ReadBusy): string {
  const seconds = Math.round(busy.retryAfterMs / 1000);
  const why =
    busy.refresh === null
      ? 'The server is busy reading this project'
      : `The access token could not be refreshed yet: ${busy.refresh}`;
  return `${why}; retrying in ${seconds} s`;
}

/**
 * An answer that says nothing about the key: a proxy's for a server it could not reach
 * (502, 504), or the server's own failure to read (500 internal, 408 query timeout).
 */
const isServerFailure = (response: Response) =>
  response.status === 408 || (response.status >= 500 && !isBusy(response));

/**
 * A read answered 401 whose sign-in's refresh got no answer about the token (none in time,
 * overload, a restart): the sign-in is kept and tried again, so the 401 says nothing of the
 * access yet (it is no refused key).
 */
class RefreshUnanswered extends Error {
  constructor() {
    super('the access token expired and could not be refreshed yet (no answer, or busy)');
    this.name = 'RefreshUnanswered';
  }
}

/**
 * A GET of the read API; on 401 with a sign-in to refresh, once more with the new access
 * token (saved, and set on `access`), refreshed only when no other read refreshed it since
 * this one was sent; throws ReadBusy while the refresh waits out the Retry-After of a 429 or
 * 503 (so the caller tries again then, not sooner), and RefreshUnanswered when the refresh got
 * no answer.
 */
async function readFetch(url: URL, access: Access, signal: AbortSignal): Promise<Response> {
  const sent = access.token;
  const response = await fetch(url, { headers: headersOf(access), signal });
  if (response.status !== 401) return response;
  // Refreshed meanwhile (another read's 401 came first): sent again with the new token, not
  // refreshed once more (each refresh rotates the sign-in and counts against its rate limit).
  const current = signedInToken();
  const token = current !== null && current !== sent ? current : await refreshAccess();
  const wait = token === null ? refreshWait() : null;
  if (wait !== null) {
    const detail = `the access token could not be refreshed yet: ${wait.detail}`;
    throw new ReadBusy(detail, wait.ms, wait.detail);
  }
  if (token === null && canRefresh()) throw new RefreshUnanswered();
  if (token === null) return response;
  access.token = token;
  return fetch(url, { headers: headersOf(access), signal });
}

/** Whether the server lets this tab read: GET /api/v1/stats over the last minute. */
export async function probe(access: Access): Promise<Probe> {
  const url = readUrl('/api/v1/stats', access, { from: String(Date.now() - 60_000) });
  try {
    // Bounded: a check that hangs is no answer, tried again with backoff.
    return await withDeadline(async (signal) => probeAnswer(await readFetch(url, access, signal)));
  } catch (error) {
    if (error instanceof ReadBusy) {
      return { kind: 'busy', detail: error.message, retryAfterMs: error.retryAfterMs };
    }
    if (error instanceof ReadTimeout || error instanceof RefreshUnanswered) {
      return { kind: 'unreachable', detail: error.message };
    }
    return { kind: 'unreachable', detail: `the server did not answer (${String(error)})` };
  }
}

async function probeAnswer(response: Response): Promise<Probe> {
  if (response.ok) return { kind: 'ok' };
  const detail = await detailOf(response);
  if (response.status === 401) return { kind: 'login', detail };
  if (isBusy(response)) return { kind: 'busy', detail, retryAfterMs: retryAfterMsOf(response) };
  if (isServerFailure(response)) return { kind: 'unreachable', detail };
  return { kind: 'refused', detail };
}

export interface SeriesPoint {
  bucket: string;
  value: number | null;
}

export interface SeriesQuery {
  metric: string;
  bucket: string;
  tz: string;
}

/** GET /api/v1/timeseries, every bucket of the default range filled. */
export async function fetchSeries(access: Access, query: SeriesQuery): Promise<SeriesPoint[]> {
  const url = readUrl('/api/v1/timeseries', access, { ...query, fill: 'zero' });
  const body = await readJson<{ series: { points: SeriesPoint[] }[] }>(url, access);
  return body.series[0]?.points ?? [];
}

/** The answer of GET /api/v1/stats: the query's Stats and the range it was read for. */
export type StatsAnswer = Stats & { from: string | null; to: string | null; tz: string };

/** GET /api/v1/stats with `date` or `from`/`to` and `tz`. */
export function fetchStats(access: Access, params: Record<string, string>): Promise<StatsAnswer> {
  return readJson<StatsAnswer>(readUrl('/api/v1/stats', access, params), access);
}

/** The answer of GET /api/v1/funnel: the funnel, its window, whom it follows, the range. */
export type FunnelAnswer = Funnel & {
  window_seconds: number;
  by: string;
  from: string | null;
  to: string | null;
  tz: string;
  /** With a breakdown only: the breakdown asked. */
  breakdown?: string;
};

/** GET /api/v1/funnel: `step` once per step, in order, and the other parameters. */
export function fetchFunnel(
  access: Access,
  steps: string[],
  params: Record<string, string>,
): Promise<FunnelAnswer> {
  const url = readUrl('/api/v1/funnel', access, params);
  for (const step of steps) url.searchParams.append('step', step);
  return readJson<FunnelAnswer>(url, access);
}

/** The answer of GET /api/v1/cohorts: one cohort per period, and the choices read. */
export interface CohortsAnswer {
  cohorts: Cohort[];
  period: string;
  cohort: string;
  by: string;
  periods: number;
  from: string;
  to: string;
  tz: string;
}

/** GET /api/v1/cohorts with its parameters (start, return, period, periods, cohort, by …). */
export function fetchCohorts(
  access: Access,
  params: Record<string, string>,
): Promise<CohortsAnswer> {
  return readJson<CohortsAnswer>(readUrl('/api/v1/cohorts', access, params), access);
}

/** One refusal of a 422: where (`["query","step",1]`) and the rule broken. */
export interface FieldIssue {
  loc: (string | number)[];
  msg: string;
}

/** A read answered 422: its message joins the issues' rules; `issues` keeps each with its loc. */
export class ReadInvalid extends Error {
  constructor(
    detail: string,
    readonly issues: FieldIssue[],
  ) {
    super(detail);
    this.name = 'ReadInvalid';
  }
}

/**
 * A read answered 401 even after a sign-in's refresh (or with none to refresh): the credential
 * is not (or no longer) good for reading.
 */
export class ReadUnauthorized extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'ReadUnauthorized';
  }
}

/**
 * A read's JSON; throws ReadBusy (429/503), ReadUnauthorized (401), ReadInvalid (422),
 * ReadTimeout (no answer within READ_TIMEOUT_MS) or Error (other).
 */
function readJson<T>(url: URL, access: Access): Promise<T> {
  // Bounded: a read that hangs is given up (ReadTimeout), so the next one can be sent.
  return withDeadline(async (signal) => {
    const response = await readFetch(url, access, signal);
    if (isBusy(response)) throw new ReadBusy(await detailOf(response), retryAfterMsOf(response));
    if (response.status === 401) throw new ReadUnauthorized(await detailOf(response));
    if (response.status === 422) throw await invalidOf(response);
    if (!response.ok) throw new Error(await detailOf(response));
    return (await response.json()) as T;
  });
}

/** The issues of a 422 (`{"detail":[{"loc","msg","type"}]}`) as a ReadInvalid. */
async function invalidOf(response: Response): Promise<ReadInvalid> {
  const fallback = `${response.status} ${response.statusText}`;
  const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
  const issues: FieldIssue[] = Array.isArray(body.detail)
    ? body.detail.map((d: { loc?: unknown; msg?: unknown }) => ({
        loc: Array.isArray(d.loc) ? (d.loc as (string | number)[]) : [],
        msg: typeof d.msg === 'string' ? d.msg : '',
      }))
    : [];
  const detail = typeof body.detail === 'string' ? body.detail : '';
  const text = issues.map((i) => i.msg).join('; ') || detail || fallback;
  return new ReadInvalid(text, issues);
}
