// The dashboard's reads after a signed-in access token expired (web/api.ts, web/sign-in.ts):
// reads answered 401 together share one refresh, and a read whose 401 comes after another
// read's refresh ended is sent again with the new token, not refreshed once more. Run against
// a stubbed fetch, sessionStorage and location (the page's globals).

import { expect, test } from 'bun:test';
import { type Access, probe, saveToken } from '../../web/api.ts';
import { login } from '../../web/sign-in.ts';
import { stubPageGlobals } from './page-globals.ts';

/** Access tokens the stub server takes; a refresh rotates to the next one. */
let valid = 'access-1';
let refreshes = 0;
/** Held 401s of stats reads: released by the test, in its order. */
const held: Array<() => void> = [];
let holdUnauthorized = false;
const sentTokens: string[] = [];

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

async function stubFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input), 'http://tally.test');
  if (url.pathname === '/api/v1/auth/login') {
    return json(200, { access_token: valid, refresh_token: 'refresh-1' });
  }
  if (url.pathname === '/api/v1/auth/refresh') {
    refreshes++;
    valid = `access-${refreshes + 1}`;
    return json(200, { access_token: valid, refresh_token: `refresh-${refreshes + 1}` });
  }
  const token = new Headers(init?.headers).get('authorization')?.slice('Bearer '.length) ?? '';
  sentTokens.push(token);
  if (token === valid) return json(200, { total_events: 0 });
  const unauthorized = json(401, { detail: 'access token expired' });
  if (!holdUnauthorized) return unauthorized;
  return new Promise((resolve) => held.push(() => resolve(unauthorized)));
}

stubPageGlobals(stubFetch as typeof fetch);

test('a 401 that comes after another read refreshed is sent with the new token, no refresh', async () => {
  saveToken(await login('ana@example.com', 'secret password'), true);
  valid = 'access-expired-meanwhile'; // the access token of the sign-in expired
  holdUnauthorized = true;
  const first: Access = { token: 'access-1', project: null };
  const second: Access = { token: 'access-1', project: null };
  const firstProbe = probe(first);
  const secondProbe = probe(second);
  while (held.length < 2) await Bun.sleep(1);
  holdUnauthorized = false;
  held.shift()?.(); // the first read's 401: it refreshes
  expect(await firstProbe).toEqual({ kind: 'ok' });
  expect(refreshes).toBe(1);
  held.shift()?.(); // the second read's 401, after that refresh ended
  expect(await secondProbe).toEqual({ kind: 'ok' });
  expect(refreshes).toBe(1);
  expect(second.token).toBe('access-2');
  expect(sentTokens.slice(-1)).toEqual(['access-2']);
});

test('reads answered 401 together share one refresh', async () => {
  const inUse = valid;
  const before = refreshes;
  valid = 'access-expired-again';
  const reads = [1, 2, 3].map(() => probe({ token: inUse, project: null }));
  expect(await Promise.all(reads)).toEqual([{ kind: 'ok' }, { kind: 'ok' }, { kind: 'ok' }]);
  expect(refreshes).toBe(before + 1);
});

test('a 401 of the token in use still refreshes: the sign-in rotated, the page goes on', async () => {
  const access: Access = { token: valid, project: null };
  const before = refreshes;
  valid = 'access-expired-once-more';
  expect(await probe(access)).toEqual({ kind: 'ok' });
  expect(refreshes).toBe(before + 1);
  expect(access.token).toBe(valid);
});
