// A project create or an alias whose caller loses their standing while the request waits on
// the tenant's stored events (the probe of stored-events.ts reads a DuckDB snapshot: the body
// is in and the caller checked, but the write is not done) changes nothing and is refused
// cleanly: an account deleted or a session ended (signed out, a new password set elsewhere)
// meanwhile is 401 with no project (none owned by a deleted user, none without an owner) and no
// alias, and an owner demoted, removed or whose project was deleted adds no alias.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type AuthApp, makeAuthApp, makeProject, signUp, type Tokens } from '../auth/harness.ts';

let t: AuthApp;
let ada: Tokens;
let bob: Tokens;
let bobId: string;

beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  await makeProject(t, ada.access_token, 'acme');
  bob = await signUp(t, 'bob@example.com');
  bobId = t.auth.accounts.verifyAccess(bob.access_token).user.id;
});
afterEach(() => t.close());

/**
 * Holds the next stored-events probe: `reached` resolves once a request waits in it, and the
 * probe goes on once `release` is called.
 */
function holdProbe() {
  const store = t.engine.store;
  const snapshot = store.snapshot.bind(store);
  let reached = () => {};
  const waiting = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  store.snapshot = async (...args: Parameters<typeof snapshot>) => {
    store.snapshot = snapshot;
    reached();
    await released;
    return snapshot(...args);
  };
  return { waiting, release };
}

function orphans(): unknown[] {
  return t.auth.stores.projects.listFor(bobId);
}

describe('an account deleted while its project create waits on the tenant probe', () => {
  const BODIES = { 'a given id': { id: 'loot', name: 'x' }, 'an id from the name': { name: 'x' } };
  for (const [what, body] of Object.entries(BODIES)) {
    test(`${what}: 401, no project`, async () => {
      const probe = holdProbe();
      const answer = t.call('POST', '/api/v1/projects', { token: bob.access_token, body });
      await probe.waiting;
      const deleted = await t.call('DELETE', '/api/v1/users/me', { token: bob.access_token });
      expect(deleted.status).toBe(204);
      probe.release();
      const res = await answer;
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
      expect(t.auth.stores.projects.get('loot')).toBeNull();
      expect(t.auth.stores.projects.get('x')).toBeNull();
      expect(orphans()).toEqual([]);
      const listed = await t.call('GET', '/api/v1/projects', { token: ada.access_token });
      expect(((await listed.json()) as { id: string }[]).map((p) => p.id)).toEqual(['acme']);
    });
  }
});

describe('a session ended while its project create waits on the tenant probe', () => {
  const BODIES = { 'a given id': { id: 'loot', name: 'x' }, 'an id from the name': { name: 'x' } };
  for (const [what, body] of Object.entries(BODIES)) {
    test(`${what}: 401, no project`, async () => {
      const probe = holdProbe();
      const answer = t.call('POST', '/api/v1/projects', { token: bob.access_token, body });
      await probe.waiting;
      const ended = await t.call('POST', '/api/v1/auth/logout', {
        body: { refresh_token: bob.refresh_token },
      });
      expect(ended.status).toBe(204);
      probe.release();
      const res = await answer;
      expect(res.status).toBe(401);
      expect(t.auth.stores.projects.get('loot')).toBeNull();
      expect(orphans()).toEqual([]);
    });
  }
});

describe('an alias whose caller loses their standing while it waits on the tenant probe', () => {
  beforeEach(async () => {
    const invited = await t.call('POST', '/api/v1/projects/acme/invitations', {
      token: ada.access_token,
      body: { email: 'bob@example.com', role: 'owner' },
    });
    const { token } = (await invited.json()) as { token: string };
    const accepted = await t.call('POST', '/api/v1/invitations/accept', {
      token: bob.access_token,
      body: { token },
    });
    expect(accepted.status).toBe(200);
  });

  const ENDINGS = {
    'demoted to viewer': {
      status: 403,
      end: () =>
        t.call('POST', '/api/v1/projects/acme/members', {
          token: ada.access_token,
          body: { email: 'bob@example.com', role: 'viewer' },
        }),
    },
    'removed from the project': {
      status: 404,
      end: () =>
        t.call('DELETE', `/api/v1/projects/acme/members/${bobId}`, { token: ada.access_token }),
    },
    'the project deleted': {
      status: 404,
      end: () => t.call('DELETE', '/api/v1/projects/acme', { token: ada.access_token }),
    },
    'signed out (the session ended)': {
      status: 401,
      end: () =>
        t.call('POST', '/api/v1/auth/logout', { body: { refresh_token: bob.refresh_token } }),
    },
  };
  for (const [ending, { status, end }] of Object.entries(ENDINGS)) {
    test(`${ending}: ${status}, no alias`, async () => {
      const probe = holdProbe();
      const answer = t.call('POST', '/api/v1/projects/acme/aliases', {
        token: bob.access_token,
        body: { alias: 'acme-site' },
      });
      await probe.waiting;
      expect((await end()).status).toBeOneOf([200, 201, 204]);
      probe.release();
      expect((await answer).status).toBe(status);
      expect(t.auth.stores.aliases.projectOf('acme-site')).toBeNull();
      expect(t.auth.stores.aliases.list('acme')).toEqual([]);
    });
  }
});
