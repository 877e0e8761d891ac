import { afterEach, expect, test } from 'bun:test';
import {
  type AuthApp,
  adminToken,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
} from '../auth/harness.ts';

let t: AuthApp;
afterEach(() => t.close());

test('no password, token or key appears in the request logs', async () => {
  t = await makeAuthApp();
  const secrets: string[] = [];
  const keep = (value: unknown) => {
    secrets.push(value as string);
    return value as string;
  };
  const password = keep('first password 1');
  const wrong = keep('wrong password 9');
  const body = { email: 'ada@example.com', password };
  expect((await t.call('POST', '/api/v1/auth/register', { body })).status).toBe(201);
  await t.call('POST', '/api/v1/auth/login', { body: { ...body, password: wrong } });
  await t.call('POST', '/api/v1/auth/login', { form: { username: body.email, password: wrong } });
  const tokens = await json(await t.call('POST', '/api/v1/auth/login', { body }));
  const access = keep(tokens.access_token);
  const refresh = keep(tokens.refresh_token);
  const next = await json(
    await t.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: refresh } }),
  );
  keep(next.refresh_token);
  await t.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: refresh } }); // reuse
  const fresh = await json(await t.call('POST', '/api/v1/auth/login', { body }));
  const jwt = keep(fresh.access_token);
  keep(fresh.refresh_token);
  await makeProject(t, jwt, 'acme');
  const write = keep((await makeKey(t, jwt, 'acme', 'write')).key);
  const read = keep((await makeKey(t, jwt, 'acme', 'read')).key);
  await t.call('POST', '/api/v1/events', { token: write, body: { name: 'a' } });
  await t.call('POST', '/api/v1/events', {
    headers: { 'x-tally-key': write },
    body: { name: 'b' },
  });
  await t.call('GET', `/api/v1/stats?token=${jwt}`);
  await t.call('GET', `/api/v1/events?tenant_id=acme&token=${read}`);
  await t.call('POST', '/api/v1/query', { token: read, body: { sql: 'SELECT 1' } });
  await t.call('GET', '/api/v1/stats', { token: `${read.slice(0, -1)}x` }); // a wrong key
  // An invitation's token: made, listed, accepted by the wrong account and the right one,
  // and once sent where its id belongs (revoking by the whole token, a plausible mistake).
  const invitation = await t.call('POST', '/api/v1/projects/acme/invitations', {
    token: jwt,
    body: { email: 'bob@example.com' },
  });
  const invitationToken = keep((await json(invitation)).token);
  await t.call('GET', '/api/v1/projects/acme/invitations', { token: jwt });
  const accept = (token: string) =>
    t.call('POST', '/api/v1/invitations/accept', { token, body: { token: invitationToken } });
  await accept(jwt);
  await t.call('DELETE', `/api/v1/projects/acme/invitations/${invitationToken}`, { token: jwt });
  // The same with its `_` percent-escaped, which the router decodes back into the token.
  const escaped = (token: string) => token.replace('_', '%5F');
  const path = `/api/v1/projects/acme/invitations/${escaped(invitationToken)}`;
  await t.call('DELETE', path, { token: jwt });
  await t.call('GET', `/array/${escaped(write)}/config`);
  const bobBody = { email: 'bob@example.com', password: 'bob password 1' };
  keep(bobBody.password);
  await t.call('POST', '/api/v1/auth/register', { body: bobBody });
  const bob = keep(
    (await json(await t.call('POST', '/api/v1/auth/login', { body: bobBody }))).access_token,
  );
  expect((await accept(bob)).status).toBe(200);
  await accept(bob);
  const newPassword = keep('second password 2');
  await t.call('PUT', '/api/v1/users/me', {
    token: jwt,
    body: { password: newPassword, current_password: password },
  });
  await t.call('POST', '/api/v1/auth/logout', { body: { refresh_token: fresh.refresh_token } });
  expect(access).not.toBe(jwt);
  await new Promise((resolve) => setImmediate(resolve)); // the log is written after the response

  const logged = t.logs.join('');
  expect(t.logs.length).toBeGreaterThan(15);
  expect(logged).toContain('"path":"/api/v1/auth/login"');
  expect(logged).toContain('"path":"/api/v1/stats"');
  expect(logged).toContain('"path":"/api/v1/users/me"');
  expect(logged).toContain('"path":"/api/v1/auth/logout"');
  expect(logged).toContain('"path":"/api/v1/invitations/accept"');
  expect(logged).toContain(
    `"path":"/api/v1/projects/acme/invitations/${invitationToken.slice(0, 15)}`,
  );
  for (const secret of secrets) {
    expect(logged).not.toContain(secret);
    // Not even the secret part of a key or token (everything after its public prefix).
    if (secret.length > 40) expect(logged).not.toContain(secret.slice(16));
  }
  expect(logged).not.toContain('token=');
});

test("a project route's log line names the project as its tenant, once the caller may see it", async () => {
  t = await makeAuthApp();
  const ada = (await signUp(t, 'ada@example.com')).access_token;
  const eve = (await signUp(t, 'eve@example.com')).access_token;
  await makeProject(t, ada, 'acme');
  const key = await makeKey(t, ada, 'acme', 'read');
  const admin = await adminToken(t);
  const calls: [string, string, string | undefined, number, string | undefined][] = [
    ['GET', '/api/v1/projects/acme', ada, 200, 'acme'],
    ['PATCH', '/api/v1/projects/acme', ada, 200, 'acme'],
    ['GET', '/api/v1/projects/acme/members', ada, 200, 'acme'],
    ['GET', '/api/v1/projects/acme/keys', ada, 200, 'acme'],
    ['DELETE', `/api/v1/projects/acme/keys/${key.id}`, ada, 204, 'acme'],
    ['POST', '/api/v1/projects/acme/aliases', ada, 201, 'acme'],
    ['GET', '/api/v1/projects/acme/aliases', ada, 200, 'acme'],
    ['POST', '/api/v1/projects/acme/erasures', ada, 202, 'acme'],
    ['GET', '/api/v1/projects/acme/erasures', ada, 200, 'acme'],
    ['POST', '/api/v1/projects/acme/invitations', ada, 201, 'acme'],
    ['GET', '/api/v1/projects/acme/invitations', ada, 200, 'acme'],
    ['POST', '/api/v1/projects/acme/keys', ada, 422, 'acme'], // a member's invalid body
    ['GET', '/api/v1/projects/acme/erasures', admin, 200, 'acme'],
    // Refusals as a stranger name no tenant: the id is only what the caller typed.
    ['GET', '/api/v1/projects/acme', undefined, 401, undefined],
    ['GET', '/api/v1/projects/acme/members', eve, 404, undefined],
    ['POST', '/api/v1/projects/acme/keys', eve, 404, undefined],
    ['DELETE', '/api/v1/projects/acme', eve, 404, undefined],
    ['GET', '/api/v1/projects/nowhere/erasures', admin, 404, undefined],
    ['DELETE', '/api/v1/projects/acme', ada, 204, 'acme'],
  ];
  const bodies: Record<string, unknown> = {
    'PATCH /api/v1/projects/acme': { name: 'Acme' },
    'POST /api/v1/projects/acme/aliases': { alias: 'acme-site' },
    'POST /api/v1/projects/acme/erasures': { user_id: 'u1' },
    'POST /api/v1/projects/acme/invitations': { email: 'bob@example.com' },
    'POST /api/v1/projects/acme/keys': { kind: 'neither' },
  };
  for (const [method, path, token, status] of calls) {
    const body = bodies[`${method} ${path}`] ?? (method === 'POST' ? {} : undefined);
    const res = await t.call(method, path, { token, body });
    expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} ${status}`);
  }
  await new Promise((resolve) => setImmediate(resolve)); // the log is written after the response
  const lines = t.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"msg":"request"') && line.includes('/api/v1/projects/'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const logged = lines.slice(-calls.length).map((l) => [l.method, l.path, l.status, l.tenant]);
  expect(logged).toEqual(
    calls.map(([method, path, , status, tenant]) => [method, path, status, tenant]),
  );
});
