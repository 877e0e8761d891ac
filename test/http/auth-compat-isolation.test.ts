// The read routes of the seed-service APIs (002, 003, 004) against the real AUTH_MODE=required
// resolver: project A's read key or member token names tenant B by each route's own parameter
// (tenant_id, site_id, an event id of B) and gets a 403 or 404 with none of B's data.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import {
  type AuthApp,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

const EVENT_ID = '3f2b8c1e-9a4d-4e7f-b6c5-1d2e3f4a5b6c';

let t: AuthApp;
let ada: Tokens;
let acmeRead: string;
let globexWrite: string;

beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  const bob = await signUp(t, 'bob@example.com');
  await makeProject(t, ada.access_token, 'acme');
  await makeProject(t, bob.access_token, 'globex');
  acmeRead = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
  globexWrite = (await makeKey(t, bob.access_token, 'globex', 'write')).key;
  const sent = await t.call('POST', '/api/v1/events', {
    token: globexWrite,
    body: { event_id: EVENT_ID, name: 'page_view', path: '/globex-secret', user_id: 'u1' },
  });
  expect(sent.status).toBe(202);
});
afterEach(() => t.close());

const READS = [
  '/events?tenant_id=globex',
  '/metrics?tenant_id=globex',
  '/api/events/?tenant_id=globex',
  `/api/events/${EVENT_ID}/?tenant_id=globex`,
  '/stats?site_id=globex',
];

describe('seed-service reads are confined to the caller’s tenant', () => {
  test('A’s read key or token naming B: 403, nothing of B', async () => {
    for (const path of READS) {
      for (const token of [acmeRead, ada.access_token]) {
        const res = await t.call('GET', path, { token });
        const text = await res.text();
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(text).not.toContain('globex-secret');
        expect(text).not.toContain(EVENT_ID);
      }
    }
  });

  test('A’s credentials with no tenant named do not find B’s event by its id', async () => {
    for (const token of [acmeRead, ada.access_token]) {
      const res = await t.call('GET', `/api/events/${EVENT_ID}/`, { token });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('globex-secret');
    }
  });

  test('a write key reads nothing on these routes', async () => {
    for (const path of READS) {
      const res = await t.call('GET', path, { token: globexWrite });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
  });
});
