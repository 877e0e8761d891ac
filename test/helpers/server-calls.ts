// Requests to a spawned server (test/helpers/server.ts) as the integration tests make them: a
// JSON call with an optional bearer token, and a password sign-in that returns the access token.

import { expect } from 'bun:test';

/** `method route` on the server at `url`, `body` as JSON, `token` as the bearer credential. */
export async function call(
  url: string,
  method: string,
  route: string,
  body?: unknown,
  token?: string,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  return fetch(`${url}${route}`, init);
}

/** Signs `user` in with its password (a 200 expected) and returns the access token. */
export async function signIn(
  url: string,
  user: { email: string; password: string },
): Promise<string> {
  const login = await call(url, 'POST', '/api/v1/auth/login', user);
  expect(login.status).toBe(200);
  return ((await login.json()) as { access_token: string }).access_token;
}
