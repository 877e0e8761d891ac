// The dashboard's password sign-in: the login, the refresh of its access token and the
// logout. The refresh token stays in memory only (gone with the tab); it is single use, so
// refreshes never overlap and each stores the one it gets back. Sign-ins and refreshes are
// bounded (SIGN_IN_TIMEOUT_MS in web/deadline.ts).

import { saveToken, signedInToken } from './access.ts';
import { detailOf } from './answer-detail.ts';
import { ReadTimeout, SIGN_IN_TIMEOUT_MS, withDeadline } from './deadline.ts';
import { isBusy, retryAfterHeaderMs } from './retry-after.ts';

/** The refresh token of the password sign-in, if any (a pasted key has none). */
let refreshToken: string | null = null;
/** The refresh in flight of this sign-in; a new sign-in (or none) never joins an old one's. */
let refreshing: Promise<string | null> | null = null;
/**
 * Bumped by every choice of a credential (a sign-in sent, forgetSession: a key pasted, Forget
 * key): a sign-in answered after a later choice is not the tab's (see login).
 */
let chosen = 0;
/** Why the sign-in ended on the server (its refresh refused); see signInEnded. */
let endedReason: string | null = null;
/**
 * A refresh answered 429 or 503 with Retry-After: no refresh is sent before `untilMs` (the
 * page's reconnects and checks would otherwise send one at their own, shorter, pace).
 */
let refreshBusy: { untilMs: number; detail: string } | null = null;

/**
 * Ends the password sign-in, if any (the user pasted a key, or forgot the credential): the
 * refresh token is dropped here at once, and its session is revoked on the server, with the
 * sign-in's access token when the tab holds no refresh token (a reload dropped it). A refresh
 * in flight meanwhile is not kept (see exchange), and no later refresh joins it: its answer is
 * thrown away, so a new sign-in's refresh would come back empty-handed.
 */
export function forgetSession(): void {
  const token = refreshToken;
  refreshToken = null;
  refreshing = null;
  chosen++;
  endedReason = null;
  refreshBusy = null;
  const accessToken = signedInToken();
  if (token !== null) logout({ 'content-type': 'application/json' }, { refresh_token: token });
  else if (accessToken !== null) logout({ authorization: `Bearer ${accessToken}` });
}

/**
 * POST /api/v1/auth/logout: the session of a refresh token (in the body) or of an access token
 * (as bearer, no body) ends on the server (best effort: offline or refused, the tab holds
 * nothing of it any more).
 */
function logout(headers: Record<string, string>, body?: { refresh_token: string }): void {
  void fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    keepalive: true,
  }).catch(() => undefined);
}

/**
 * POST /api/v1/auth/login; the access token, or throws with the server's reason, or with why
 * no answer came (none within SIGN_IN_TIMEOUT_MS: given up, so the prompt can be used again).
 * Null when another credential was chosen while it waited (a key pasted, another sign-in):
 * the later choice stays, and this sign-in's session ends on the server at once.
 */
export async function login(email: string, password: string): Promise<string | null> {
  type Tokens = { access_token?: string; refresh_token?: string };
  const mine = ++chosen;
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
  if (mine !== chosen) {
    // A key was pasted (or another sign-in sent) while this one waited: that choice stays.
    if (typeof body.refresh_token === 'string') {
      logout({ 'content-type': 'application/json' }, { refresh_token: body.refresh_token });
    } else logout({ authorization: `Bearer ${body.access_token}` });
    return null;
  }
  // A sign-in held until now (the prompt came for a refused project) is replaced: it ends.
  forgetSession();
  refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : null;
  return body.access_token;
}

/**
 * Whether a sign-in's refresh token is held: a refresh that failed for overload or a restart,
 * or got no answer, keeps it, and the next reconnect tries again instead of asking to sign in.
 */
export function canRefresh(): boolean {
  return refreshToken !== null;
}

/**
 * Why the tab's sign-in ended, for the prompt that asks to sign in again after a 401 (`detail`
 * its reason): its refresh refused (reused, expired, revoked), or its access token refused in
 * a tab that holds no refresh token for it (a reload drops it); null for a pasted key or
 * token, and while the sign-in can still be refreshed.
 */
export function signInEnded(detail: string): string | null {
  if (endedReason !== null) return endedReason;
  if (refreshToken !== null || signedInToken() === null) return null;
  return `your sign-in ended (${detail}; a reloaded tab keeps no refresh token); sign in again`;
}

/**
 * POST /api/v1/auth/refresh: a new access token (saved) for the sign-in's refresh token, which
 * rotates; null without a sign-in, when the session ended, or when the server could not answer
 * (overload, a restart, no answer: the refresh token is kept for the next try). Concurrent
 * callers share one call (presenting a used refresh token would end the whole session).
 */
export function refreshAccess(): Promise<string | null> {
  if (refreshToken === null || refreshWait() !== null) return Promise.resolve(null);
  if (refreshing !== null) return refreshing;
  const ongoing = exchange(refreshToken).finally(() => {
    // A sign-in made since (forgetSession) may have its own refresh in flight: kept.
    if (refreshing === ongoing) refreshing = null;
  });
  refreshing = ongoing;
  return ongoing;
}

/**
 * While the server's Retry-After of a refresh runs (the sign-in held, no refresh sent): the
 * wait left and the server's reason; null otherwise.
 */
export function refreshWait(): { ms: number; detail: string } | null {
  if (refreshBusy === null || refreshToken === null) return null;
  const ms = refreshBusy.untilMs - Date.now();
  return ms > 0 ? { ms, detail: refreshBusy.detail } : null;
}

type RefreshAnswer = {
  response: Response;
  body: { access_token?: string; refresh_token?: string };
  detail: string;
};

/** One POST /api/v1/auth/refresh; null when no answer came (offline, none in time). */
function postRefresh(token: string): Promise<RefreshAnswer | null> {
  return withDeadline(async (signal) => {
    const response = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: token }),
      signal,
    });
    if (!response.ok) return { response, body: {}, detail: await detailOf(response) };
    return { response, body: (await response.json()) as RefreshAnswer['body'], detail: '' };
  }, SIGN_IN_TIMEOUT_MS).catch(() => null);
}

async function exchange(token: string): Promise<string | null> {
  // No answer says nothing of the token: the server may never have had the request, or it
  // rotated the token and its answer was lost. Sent once more at once: the first way that
  // refreshes; the second way it is a reuse, which ends the session (there is no grace for a
  // used token, see README), and the prompt then says so rather than a later try finding it.
  let answer = await postRefresh(token);
  if (answer === null && refreshToken === token) answer = await postRefresh(token);
  // Offline, or still no answer: keep the refresh token for the next try.
  if (answer === null) return null;
  const { response, body, detail } = answer;
  // Only an answer about the token ends the session; overload, a restart or a proxy's 502
  // keeps it for the next try.
  if (!response.ok && response.status !== 401 && response.status !== 422) {
    // Busy with a Retry-After (the user's refresh rate limit, overload): waited out before the
    // next refresh is sent.
    const waitMs = isBusy(response) ? retryAfterHeaderMs(response) : null;
    if (waitMs !== null && refreshToken === token) {
      refreshBusy = { untilMs: Date.now() + waitMs, detail };
    }
    return null;
  }
  // The sign-in was ended (forgotten: its session revoked) or replaced while this ran: what
  // the server answered is not this tab's any more, and no token of it is saved. New tokens
  // mean the server rotated before any logout reached it (the logout may be lost: it is best
  // effort), so the session is ended again with the rotated token, which the tab holds now.
  if (refreshToken !== token) {
    if (response.ok && typeof body.refresh_token === 'string') {
      logout({ 'content-type': 'application/json' }, { refresh_token: body.refresh_token });
    }
    return null;
  }
  if (!response.ok) {
    refreshToken = null;
    endedReason = `your sign-in ended (${detail}); sign in again`;
    return null;
  }
  if (typeof body.access_token !== 'string' || typeof body.refresh_token !== 'string') {
    refreshToken = null;
    endedReason = 'your sign-in ended (the server sent no new tokens); sign in again';
    return null;
  }
  refreshToken = body.refresh_token;
  refreshBusy = null;
  saveToken(body.access_token, true);
  return body.access_token;
}
