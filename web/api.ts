// The dashboard's access to the server: the credential and project kept in sessionStorage,
// authenticated fetches of the read API (stats, time series, funnels, cohorts), the password
// login, the refresh of its access token and the logout. The refresh token stays in memory
// only (gone with the tab); it is single use, so refreshes never overlap and each stores the
// one it gets back. Reads, the check of access, sign-ins and refreshes are bounded
// (web/deadline.ts).

import type { Cohort, Funnel, Stats } from '../src/query/index.ts';
import { ReadTimeout, SIGN_IN_TIMEOUT_MS, withDeadline } from './deadline.ts';

const TOKEN_KEY = 'tally.token';
const PROJECT_KEY = 'tally.project';

/** The refresh token of the password sign-in, if any (a pasted key has none). */
let refreshToken: string | null = null;
let refreshing: Promise<string | null> | null = null;

export interface Access {
  /** A read key or an access token; null when the server is open. */
  token: string | null;
  /** The project (tenant) to read; null for the server's default. */
  project: string | null;
}

export function loadAccess(): Access {
  return {
    token: sessionStorage.getItem(TOKEN_KEY),
    project: sessionStorage.getItem(PROJECT_KEY),
  };
}

/**
 * Ends the password sign-in, if any (the user pasted a key, or forgot the credential): the
 * refresh token is dropped here at once, and its session is revoked on the server. A refresh
 * in flight meanwhile is not kept (see exchange).
 */
export function forgetSession(): void {
  const token = refreshToken;
  refreshToken = null;
  if (token !== null) logout(token);
}

/**
 * POST /api/v1/auth/logout: the session of `token` ends on the server (best effort: offline or
 * refused, the tab holds nothing of it any more).
 */
function logout(token: string): void {
  void fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: token }),
    keepalive: true,
  }).catch(() => undefined);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export function saveProject(project: string | null): void {
  if (project === null || project === '') sessionStorage.removeItem(PROJECT_KEY);
  else sessionStorage.setItem(PROJECT_KEY, project);
}

/** A read-API URL with the project added as tenant_id. */
export function readUrl(path: string, access: Access, params: Record<string, string> = {}) {
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
 * or restarting): not an answer about the credentials; try again after `retryAfterMs`.
 */
export class ReadBusy extends Error {
  constructor(
    detail: string,
    readonly retryAfterMs: number,
  ) {
    super(detail);
    this.name = 'ReadBusy';
  }
}

const RETRY_AFTER_DEFAULT_MS = 5000;
const RETRY_AFTER_MAX_MS = 60_000;

const isBusy = (response: Response) => response.status === 429 || response.status === 503;

/**
 * An answer that says nothing about the key: a proxy's for a server it could not reach
 * (502, 504), or the server's own failure to read (500 internal, 408 query timeout).
 */
const isServerFailure = (response: Response) =>
  response.status === 408 || (response.status >= 500 && !isBusy(response));

/** The wait a 429 or 503 asks for (Retry-After in seconds), bounded. */
function retryAfterMsOf(response: Response): number {
  const seconds = Number(response.headers.get('retry-after') ?? Number.NaN);
  if (!Number.isFinite(seconds) || seconds < 0) return RETRY_AFTER_DEFAULT_MS;
  return Math.min(Math.max(seconds * 1000, 1000), RETRY_AFTER_MAX_MS);
}

/**
 * A GET of the read API; on 401 with a sign-in to refresh, once more with the new access
 * token (saved, and set on `access`).
 */
async function readFetch(url: URL, access: Access, signal: AbortSignal): Promise<Response> {
  const response = await fetch(url, { headers: headersOf(access), signal });
  if (response.status !== 401) return response;
  const token = await refreshAccess();
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
    if (error instanceof ReadTimeout) return { kind: 'unreachable', detail: error.message };
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

/**
 * POST /api/v1/auth/login; the access token, or throws with the server's reason, or with why
 * no answer came (none within SIGN_IN_TIMEOUT_MS: given up, so the prompt can be used again).
 */
export async function login(email: string, password: string): Promise<string> {
  type Tokens = { access_token?: string; refresh_token?: string };
  const body = await withDeadline(async (signal) => {
    const response = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      signal,
    });
    if (response.status === 404) throw new Error('this server has no sign-in; paste a key');
    if (!response.ok) throw new Error(await detailOf(response));
    return (await response.json()) as Tokens;
  }, SIGN_IN_TIMEOUT_MS).catch((error: unknown) => {
    if (error instanceof ReadTimeout) throw new Error(`${error.message}; try again`);
    // fetch's own failure: offline, or the connection refused or reset.
    if (error instanceof TypeError) {
      throw new Error(`the server did not answer (${error.message}); try again`);
    }
    throw error;
  });
  if (typeof body.access_token !== 'string') throw new Error('the server sent no access token');
  // A sign-in held until now (the prompt came for a refused project) is replaced: it ends.
  forgetSession();
  refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : null;
  return body.access_token;
}

/**
 * Whether a sign-in's refresh token is held: a refresh that failed for overload or a restart
 * keeps it, and the next reconnect tries again instead of asking to sign in.
 */
export function canRefresh(): boolean {
  return refreshToken !== null;
}

/**
 * POST /api/v1/auth/refresh: a new access token (saved) for the sign-in's refresh token, which
 * rotates; null without a sign-in, when the session ended, or when the server could not answer
 * (overload, a restart: the refresh token is kept for the next try). Concurrent callers share
 * one call (presenting a used refresh token would end the whole session).
 */
export function refreshAccess(): Promise<string | null> {
  if (refreshToken === null) return Promise.resolve(null);
  refreshing ??= exchange(refreshToken).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function exchange(token: string): Promise<string | null> {
  const answer = await withDeadline(async (signal) => {
    const response = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: token }),
      signal,
    });
    type Tokens = { access_token?: string; refresh_token?: string };
    return { response, body: response.ok ? ((await response.json()) as Tokens) : {} };
  }).catch(() => null);
  // Offline, or no answer in time: keep the refresh token for the next try.
  if (answer === null) return null;
  const { response, body } = answer;
  // Only an answer about the token ends the session; overload, a restart or a proxy's 502
  // keeps it for the next try.
  if (!response.ok && response.status !== 401 && response.status !== 422) return null;
  // The sign-in was ended (forgotten: its session revoked) or replaced while this ran: what
  // the server answered is not this tab's any more, and no token of it is saved.
  if (refreshToken !== token) return null;
  if (typeof body.access_token !== 'string' || typeof body.refresh_token !== 'string') {
    refreshToken = null;
    return null;
  }
  refreshToken = body.refresh_token;
  saveToken(body.access_token);
  return body.access_token;
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

async function detailOf(response: Response): Promise<string> {
  const fallback = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { detail?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d: { msg?: string }) => d.msg ?? '').join('; ') || fallback;
    }
    return fallback;
  } catch {
    return fallback;
  }
}
