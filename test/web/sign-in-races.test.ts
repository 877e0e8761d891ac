// The dashboard's sign-in when it changes while a refresh is in flight (web/sign-in.ts,
// web/api.ts): a new sign-in (login, forgetSession, a pasted key) starts clean. Its refreshes
// never join one of the sign-in it replaced, and that one, finishing late, never clears the
// new sign-in's refresh in flight (a second refresh with the same single-use token would be a
// reuse, which ends the session). Run against a stubbed fetch, sessionStorage and location
// standing in for a server with rotating refresh tokens.

import { beforeEach, expect, test } from 'bun:test';
import { type Access, probe, saveToken } from '../../web/api.ts';
import { canRefresh, forgetSession, login } from '../../web/sign-in.ts';
import { stubPageGlobals } from './page-globals.ts';

/** The stub server: sign-ins (sessions) with a rotating refresh token, and live access tokens. */
let logins = 0;
/** A session's live refresh token, and the ones it used (presenting one again is a reuse). */
const sessions = new Map<string, { live: string; used: Set<string>; revoked: boolean }>();
const validAccess = new Set<string>();
/** Every refresh token presented to POST /auth/refresh, in order. */
const presented: string[] = [];
/** While set, refreshes wait until the test releases them, in its order. */
let holdRefreshes = false;
const heldRefreshes: Array<() => void> = [];
/** While set, logouts fail as offline: they never reach the stub server. */
let loseLogouts = false;
/** While set, logins wait until the test releases them. */
let holdLogins = false;
const heldLogins: Array<() => void> = [];

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

const sessionOf = (refreshToken: string) =>
  [...sessions.entries()].find(([, s]) => s.live === refreshToken || s.used.has(refreshToken));

function rotate(refreshToken: string): Response {
  const found = sessionOf(refreshToken);
  if (found === undefined) return json(401, { detail: 'invalid refresh token' });
  const [id, session] = found;
  if (session.revoked) return json(401, { detail: 'the session was revoked' });
  if (session.used.has(refreshToken)) {
    session.revoked = true;
    return json(401, { detail: 'refresh token already used; the session is revoked' });
  }
  session.used.add(refreshToken);
  session.live = `${id}-refresh-${session.used.size + 1}`;
  const access = `${id}-access-${session.used.size + 1}`;
  validAccess.add(access);
  return json(200, { access_token: access, refresh_token: session.live });
}

async function stubFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input), 'http://tally.test');
  const body = init?.body === undefined ? {} : JSON.parse(String(init.body));
  if (url.pathname === '/api/v1/auth/login') {
    if (holdLogins) await new Promise<void>((resolve) => heldLogins.push(resolve));
    const id = `s${++logins}`;
    sessions.set(id, { live: `${id}-refresh-1`, used: new Set(), revoked: false });
    validAccess.add(`${id}-access-1`);
    return json(200, { access_token: `${id}-access-1`, refresh_token: `${id}-refresh-1` });
  }
  if (url.pathname === '/api/v1/auth/refresh') {
    presented.push(body.refresh_token);
    if (holdRefreshes) await new Promise<void>((resolve) => heldRefreshes.push(resolve));
    return rotate(body.refresh_token);
  }
  if (url.pathname === '/api/v1/auth/logout') {
    if (loseLogouts) throw new TypeError('Failed to fetch');
    const found = sessionOf(body.refresh_token ?? '');
    if (found !== undefined) found[1].revoked = true;
    return new Response(null, { status: 204 });
  }
  const token = new Headers(init?.headers).get('authorization')?.slice('Bearer '.length) ?? '';
  if (validAccess.has(token)) return json(200, { total_events: 0 });
  return json(401, { detail: 'access token expired' });
}

/** Signs in as the page does: the access token saved as a sign-in's, then expired. */
async function signInExpired(): Promise<Access> {
  const token = await login('ana@example.com', 'secret password');
  if (token === null) throw new Error('the sign-in was not kept');
  saveToken(token, true);
  validAccess.delete(token);
  return { token, project: null };
}

/** Waits for `count` refreshes to be held; a refresh that never comes fails at once. */
async function untilHeld(count: number): Promise<void> {
  for (let waited = 0; heldRefreshes.length < count; waited++) {
    if (waited > 1000) throw new Error(`${count} refreshes were never sent`);
    await Bun.sleep(1);
  }
}

stubPageGlobals(stubFetch as typeof fetch);

beforeEach(() => {
  holdRefreshes = false;
  for (const release of heldRefreshes.splice(0)) release();
  forgetSession();
  saveToken(null);
});

test("a new sign-in's refresh does not join the refresh in flight of the one it replaced", async () => {
  const first = await signInExpired();
  holdRefreshes = true;
  const firstProbe = probe(first); // its 401 refreshes; the refresh hangs
  await untilHeld(1);
  holdRefreshes = false;
  const second = await signInExpired(); // signed in anew while that refresh is in flight
  const secondProbe = probe(second);
  await Bun.sleep(5);
  heldRefreshes.shift()?.(); // the old refresh answers now
  await firstProbe;
  // The new sign-in sent its own refresh, not waited for the old one's (which answers nothing
  // for it: 'unreachable', a backoff for no reason).
  expect(await secondProbe).toEqual({ kind: 'ok' });
  expect(presented.slice(-1)).toEqual([`s${logins}-refresh-1`]);
  expect(second.token).toBe(`s${logins}-access-2`);
  // The old refresh's answer is not this tab's any more: nothing of it is kept.
  expect(sessionStorage.getItem('tally.token')).toBe(`s${logins}-access-2`);
});

test('after forgetting a sign-in mid-refresh, the next sign-in refreshes on its own', async () => {
  const first = await signInExpired();
  holdRefreshes = true;
  const firstProbe = probe(first);
  await untilHeld(1);
  holdRefreshes = false;
  forgetSession();
  saveToken(null);
  const second = await signInExpired();
  const secondProbe = probe(second);
  await Bun.sleep(5);
  heldRefreshes.shift()?.();
  await firstProbe;
  expect(await secondProbe).toEqual({ kind: 'ok' });
});

test("an old refresh finishing late leaves the new sign-in's refresh in flight shared", async () => {
  const first = await signInExpired();
  holdRefreshes = true;
  const firstProbe = probe(first);
  await untilHeld(1);
  const second = await signInExpired();
  const secondProbe = probe(second);
  await untilHeld(2); // the new sign-in's refresh, in flight too
  heldRefreshes.shift()?.(); // the old one ends now
  await firstProbe;
  // Another read of the new sign-in meets the expired token: it shares the refresh in flight
  // instead of presenting the same single-use token again (a reuse: the session would end).
  const third = probe({ token: second.token, project: null });
  await Bun.sleep(5);
  const newToken = `s${logins}-refresh-1`;
  expect(presented.filter((t) => t === newToken)).toEqual([newToken]);
  holdRefreshes = false;
  for (const release of heldRefreshes.splice(0)) release();
  expect(await secondProbe).toEqual({ kind: 'ok' });
  expect(await third).toEqual({ kind: 'ok' });
  expect(sessions.get(`s${logins}`)?.revoked).toBe(false);
});

test('a key pasted while a sign-in waits stays; the sign-in, answered late, ends at once', async () => {
  holdLogins = true;
  const signingIn = login('ana@example.com', 'secret password');
  while (heldLogins.length < 1) await Bun.sleep(1);
  holdLogins = false;
  // The key form, as the page wires it: the sign-in held is forgotten, the key kept.
  forgetSession();
  saveToken('pasted-key');
  heldLogins.shift()?.();
  expect(await signingIn).toBeNull();
  expect(sessionStorage.getItem('tally.token')).toBe('pasted-key');
  expect(canRefresh()).toBe(false);
  await Bun.sleep(5); // the logout, sent best effort
  expect(sessions.get(`s${logins}`)?.revoked).toBe(true);
});

test('of two sign-ins that overlap, the later one is kept', async () => {
  holdLogins = true;
  const first = login('ana@example.com', 'secret password');
  while (heldLogins.length < 1) await Bun.sleep(1);
  holdLogins = false;
  const second = login('bo@example.com', 'another password');
  expect(await second).toBe(`s${logins}-access-1`);
  heldLogins.shift()?.();
  expect(await first).toBeNull();
  await Bun.sleep(5);
  expect(sessions.get(`s${logins}`)?.revoked).toBe(true); // the first's, answered last
  expect(sessions.get(`s${logins - 1}`)?.revoked).toBe(false);
});

test('a refresh answered after its sign-in was forgotten, the logout lost, ends the session', async () => {
  const access = await signInExpired();
  holdRefreshes = true;
  const reading = probe(access);
  await untilHeld(1); // the server rotates the refresh token once this is released
  holdRefreshes = false;
  loseLogouts = true; // Forget key while offline: the logout never reaches the server
  forgetSession();
  saveToken(null);
  loseLogouts = false;
  heldRefreshes.shift()?.();
  await reading;
  await Bun.sleep(5); // the logout, sent best effort
  // The rotated refresh token is not kept, but its session is ended with it.
  expect(sessionStorage.getItem('tally.token')).toBeNull();
  expect(sessions.get(`s${logins}`)?.revoked).toBe(true);
});
