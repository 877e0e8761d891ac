// Seed 001 (PulseBoard), the rest of its README's endpoint list, route by route against the
// real server process in AUTH_MODE=required: auth (register, login, refresh), users/me
// (GET, PUT, DELETE) and the live WebSocket at /api/v1/ws/metrics?token={jwt}.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temp = makeTempDir('tally-seed001-');
let server: RunningServer;
let admin: { admin_email: string; admin_password: string };

beforeAll(async () => {
  server = await startServer(temp.dir, { AUTH_MODE: 'required' });
  admin = JSON.parse(readFileSync(path.join(temp.dir, 'bootstrap.json'), 'utf8'));
});

afterAll(async () => {
  server.kill('SIGTERM');
  await server.exited;
  temp.remove();
});

type Json = Record<string, unknown>;
const call = async (method: string, route: string, body?: unknown, token?: string) => {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
};

describe('seed 001: authentication and users', () => {
  const user = { email: 'pat@example.com', password: 'a long password', name: 'Pat' };
  let access = '';
  let refresh = '';

  test('POST /api/v1/auth/register - Register new user', async () => {
    const res = await call('POST', '/api/v1/auth/register', user);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: user.email, name: 'Pat' });
    expect(JSON.stringify(res.body)).not.toContain(user.password);
  });

  test('POST /api/v1/auth/login - Login and get tokens', async () => {
    const res = await call('POST', '/api/v1/auth/login', {
      email: user.email,
      password: user.password,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer' });
    access = String(res.body.access_token);
    refresh = String(res.body.refresh_token);
  });

  test('POST /api/v1/auth/refresh - Refresh access token', async () => {
    const res = await call('POST', '/api/v1/auth/refresh', { refresh_token: refresh });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).not.toBe(refresh);
    access = String(res.body.access_token);
  });

  test('GET and PUT /api/v1/users/me - Get and update current user', async () => {
    const me = await call('GET', '/api/v1/users/me', undefined, access);
    expect(me).toMatchObject({ status: 200, body: { email: user.email } });
    const renamed = await call('PUT', '/api/v1/users/me', { name: 'Pat Doe' }, access);
    expect(renamed).toMatchObject({ status: 200, body: { name: 'Pat Doe' } });
  });

  test('DELETE /api/v1/users/me - Delete account', async () => {
    const res = await fetch(`${server.url}/api/v1/users/me`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${access}` },
    });
    expect([200, 204]).toContain(res.status);
    expect((await call('GET', '/api/v1/users/me', undefined, access)).status).toBe(401);
  });
});

describe('seed 001: WebSocket', () => {
  test('WS /api/v1/ws/metrics?token={jwt} - Real-time metric updates', async () => {
    const login = await call('POST', '/api/v1/auth/login', {
      email: admin.admin_email,
      password: admin.admin_password,
    });
    const token = String(login.body.access_token);
    const ws = new WebSocket(
      `${server.url.replace('http', 'ws')}/api/v1/ws/metrics?token=${token}`,
    );
    const first = new Promise<Json>((resolve, reject) => {
      ws.onmessage = (m) => resolve(JSON.parse(String(m.data)) as Json);
      ws.onerror = () => reject(new Error('the socket failed'));
    });
    // A seed-001 client only listens: the socket starts subscribed to all names.
    expect(await first).toMatchObject({ type: 'snapshot', tenant: 'default' });
    ws.close();
  });
});
