import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import {
  type AuthApp,
  join,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

let t: AuthApp;
let ada: Tokens;
let bob: Tokens;
beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  bob = await signUp(t, 'bob@example.com');
});
afterEach(() => t.close());

const list = async (path: string, token: string) =>
  (await (await t.call('GET', path, { token })).json()) as Record<string, unknown>[];

describe('projects', () => {
  test('the creator owns a new project; its id is the tenant', async () => {
    const res = await t.call('POST', '/api/v1/projects', {
      token: ada.access_token,
      body: { id: 'acme', name: 'Acme' },
    });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ id: 'acme', tenant: 'acme', role: 'owner' });
    const derived = await json(
      await t.call('POST', '/api/v1/projects', {
        token: ada.access_token,
        body: { name: 'Acme Web Shop!' },
      }),
    );
    expect(derived.id).toBe('acme-web-shop');
    expect((await list('/api/v1/projects', ada.access_token)).map((p) => p.id)).toEqual([
      'acme',
      'acme-web-shop',
    ]);
    expect(await list('/api/v1/projects', bob.access_token)).toEqual([]);
  });

  test('a taken id is 409, a bad id 422, no token 401', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const taken = await t.call('POST', '/api/v1/projects', {
      token: bob.access_token,
      body: { id: 'acme', name: 'Mine' },
    });
    expect(taken.status).toBe(409);
    const bad = await t.call('POST', '/api/v1/projects', {
      token: bob.access_token,
      body: { id: '-acme/../x', name: 'Mine' },
    });
    expect(bad.status).toBe(422);
    const anon = await t.call('POST', '/api/v1/projects', { body: { name: 'x' } });
    expect(anon.status).toBe(401);
  });

  test('a project is invisible to non-members (404)', async () => {
    await makeProject(t, ada.access_token, 'acme');
    expect((await t.call('GET', '/api/v1/projects/acme', { token: ada.access_token })).status).toBe(
      200,
    );
    for (const path of ['', '/members', '/invitations', '/keys', '/aliases']) {
      const res = await t.call('GET', `/api/v1/projects/acme${path}`, { token: bob.access_token });
      expect(res.status).toBe(404);
    }
  });

  test('owners invite viewers; viewers read but cannot manage', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const invitee = { email: 'bob@example.com', token: bob.access_token };
    const added = await join(t, ada.access_token, 'acme', invitee);
    expect(added.status).toBe(200);
    expect(await json(added)).toMatchObject({ id: 'acme', role: 'viewer' });
    expect(
      (await json(await t.call('GET', '/api/v1/projects/acme', { token: bob.access_token }))).role,
    ).toBe('viewer');
    const key = await t.call('POST', '/api/v1/projects/acme/keys', {
      token: bob.access_token,
      body: { kind: 'read' },
    });
    expect(key.status).toBe(403);
    const alias = await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: bob.access_token,
      body: { alias: 'acme.com', kind: 'plausible_domain' },
    });
    expect(alias.status).toBe(403);
    const invitation = await t.call('POST', '/api/v1/projects/acme/invitations', {
      token: bob.access_token,
      body: { email: 'carol@example.com' },
    });
    expect(invitation.status).toBe(403);
  });

  // README Limits: "the project's member list (`GET …/members`) shows members' email addresses
  // and names to the other members", a viewer included.
  test("a member's list of members shows the others' email addresses and names", async () => {
    await makeProject(t, ada.access_token, 'acme');
    const named = await t.call('PUT', '/api/v1/users/me', {
      token: ada.access_token,
      body: { name: 'Ada Lovelace' },
    });
    expect(named.status).toBe(200);
    const invitee = { email: 'bob@example.com', token: bob.access_token };
    expect((await join(t, ada.access_token, 'acme', invitee)).status).toBe(200);
    const members = await list('/api/v1/projects/acme/members', bob.access_token);
    expect(members.map((m) => [m.email, m.name, m.role])).toEqual([
      ['ada@example.com', 'Ada Lovelace', 'owner'],
      ['bob@example.com', null, 'viewer'],
    ]);
  });

  test('the last owner cannot leave; a member may leave', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const adaId = (await json(await t.call('GET', '/api/v1/users/me', { token: ada.access_token })))
      .id as string;
    const bobId = (await json(await t.call('GET', '/api/v1/users/me', { token: bob.access_token })))
      .id as string;
    const last = await t.call('DELETE', `/api/v1/projects/acme/members/${adaId}`, {
      token: ada.access_token,
    });
    expect(last.status).toBe(409);
    const invitee = { email: 'bob@example.com', token: bob.access_token };
    expect((await join(t, ada.access_token, 'acme', invitee)).status).toBe(200);
    const leave = await t.call('DELETE', `/api/v1/projects/acme/members/${bobId}`, {
      token: bob.access_token,
    });
    expect(leave.status).toBe(204);
    expect((await t.call('GET', '/api/v1/projects/acme', { token: bob.access_token })).status).toBe(
      404,
    );
  });
});

describe('keys', () => {
  test('a key is shown once; the list has prefixes only', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const write = await makeKey(t, ada.access_token, 'acme', 'write', {
      name: 'site',
      allowed_origins: ['https://acme.com'],
    });
    const read = await makeKey(t, ada.access_token, 'acme', 'read');
    expect(write.key).toMatch(/^wk_[A-Za-z0-9_-]{55}$/);
    expect(read.key).toMatch(/^rk_[A-Za-z0-9_-]{55}$/);
    expect(write.key.startsWith(write.id)).toBe(true);
    const res = await t.call('GET', '/api/v1/projects/acme/keys', { token: ada.access_token });
    const text = await res.text();
    expect(text).not.toContain(write.key);
    expect(text).not.toContain(read.key);
    const keys = JSON.parse(text) as Record<string, unknown>[];
    expect(keys.map((k) => [k.kind, k.prefix, k.allowed_origins, k.revoked_at])).toEqual([
      ['write', write.id, ['https://acme.com'], null],
      ['read', read.id, null, null],
    ]);
    expect(keys.every((k) => !('key' in k))).toBe(true);
  });

  test('bad kinds and origins are 422; read keys cannot be origin-bound', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const bodies = [
      { kind: 'admin' },
      { kind: 'write', allowed_origins: ['https://acme.com/path'] },
      { kind: 'write', allowed_origins: 'https://acme.com' },
      { kind: 'read', allowed_origins: ['https://acme.com'] },
    ];
    for (const body of bodies) {
      const res = await t.call('POST', '/api/v1/projects/acme/keys', {
        token: ada.access_token,
        body,
      });
      expect(res.status).toBe(422);
    }
  });

  test('an origin spelled otherwise is kept as a browser sends it; a path or query is 422', async () => {
    // A browser's Origin is lower-case, punycode and without a default port: an owner typing
    // `https://Shop.Example` or an IDN was told their origin had a path, and had no way to
    // bind a key to an IDN but to write its punycode by hand.
    await makeProject(t, ada.access_token, 'acme');
    const origins = [
      'https://Shop.Example',
      'https://bücher.example:443',
      'http://localhost:8080/',
    ];
    const made = await makeKey(t, ada.access_token, 'acme', 'write', { allowed_origins: origins });
    const [key] = (await list('/api/v1/projects/acme/keys', ada.access_token)).filter(
      (k) => k.id === made.id,
    );
    expect(key?.allowed_origins).toEqual([
      'https://shop.example',
      'https://xn--bcher-kva.example',
      'http://localhost:8080',
    ]);
    const ingest = (origin: string) =>
      t.call('POST', '/api/v1/events', {
        token: made.key,
        body: { name: 'a' },
        headers: { origin },
      });
    expect((await ingest('https://xn--bcher-kva.example')).status).toBe(202);
    for (const origin of ['https://acme.com/path', 'https://acme.com/?', 'https://u@acme.com']) {
      const res = await t.call('POST', '/api/v1/projects/acme/keys', {
        token: ada.access_token,
        body: { kind: 'write', allowed_origins: [origin] },
      });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        detail: [
          {
            loc: ['body', 'allowed_origins', 0],
            msg: 'an origin is scheme://host[:port], with no path, query or user',
            type: 'value_error',
          },
        ],
      });
    }
  });

  test('allowed_origins lists at most 32; a fragment is a 422 as a path is', async () => {
    // README keys row: "lists 1–32 origins"; "a path, query, fragment or user is 422".
    await makeProject(t, ada.access_token, 'acme');
    const origins = (n: number) => Array.from({ length: n }, (_, i) => `https://s${i}.example`);
    const make = (allowed_origins: string[]) =>
      t.call('POST', '/api/v1/projects/acme/keys', {
        token: ada.access_token,
        body: { kind: 'write', allowed_origins },
      });
    expect((await make(origins(32))).status).toBe(201);
    const over = await make(origins(33));
    expect(over.status).toBe(422);
    expect(await over.json()).toEqual({
      detail: [
        {
          loc: ['body', 'allowed_origins'],
          msg: 'allowed_origins holds at most 32 origins',
          type: 'too_long',
        },
      ],
    });
    for (const origin of ['https://acme.com#top', 'https://acme.com/#']) {
      expect([origin, (await make([origin])).status]).toEqual([origin, 422]);
    }
    expect(await list('/api/v1/projects/acme/keys', ada.access_token)).toHaveLength(1);
  });

  test('an empty allowed_origins is 422: it never makes a key usable from any origin', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const res = await t.call('POST', '/api/v1/projects/acme/keys', {
      token: ada.access_token,
      body: { kind: 'write', allowed_origins: [] },
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['body', 'allowed_origins'],
          msg:
            'allowed_origins must list at least one origin; leave it out for a key ' +
            'usable from any origin',
          type: 'too_short',
        },
      ],
    });
    const keys = await list('/api/v1/projects/acme/keys', ada.access_token);
    expect(keys).toEqual([]);
  });

  test('a new key is answered with no-store: it is shown this once', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const res = await t.call('POST', '/api/v1/projects/acme/keys', {
      token: ada.access_token,
      body: { kind: 'read' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
  });

  test('revoke marks the key; another project’s key id is 404', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, bob.access_token, 'globex');
    const key = await makeKey(t, ada.access_token, 'acme', 'read');
    const foreign = await t.call('DELETE', `/api/v1/projects/globex/keys/${key.id}`, {
      token: bob.access_token,
    });
    expect(foreign.status).toBe(404);
    const res = await t.call('DELETE', `/api/v1/projects/acme/keys/${key.id}`, {
      token: ada.access_token,
    });
    expect(res.status).toBe(204);
    const keys = await list('/api/v1/projects/acme/keys', ada.access_token);
    expect(keys[0]?.revoked_at).toBe(new Date(t.clock.now()).toISOString());
  });

  // README Limits: keys belong to the project, not to the owner who made them.
  test('keys outlive the owner who made them, and the list cannot tell who did', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const invitee = { email: 'bob@example.com', token: bob.access_token };
    expect((await join(t, ada.access_token, 'acme', invitee, 'owner')).status).toBe(200);
    const write = await makeKey(t, bob.access_token, 'acme', 'write');
    const read = await makeKey(t, bob.access_token, 'acme', 'read');
    const adaKey = await makeKey(t, ada.access_token, 'acme', 'read');
    const me = await json(await t.call('GET', '/api/v1/users/me', { token: bob.access_token }));
    const removed = await t.call('DELETE', `/api/v1/projects/acme/members/${me.id}`, {
      token: ada.access_token,
    });
    expect(removed.status).toBe(204);
    const sent = await t.call('POST', '/api/v1/events', { token: write.key, body: { name: 'x' } });
    expect(sent.status).toBe(202);
    const stats = await t.call('GET', '/api/v1/stats', { token: read.key });
    expect(stats.status).toBe(200);
    // The owner left sees every key alike: nothing in an entry names who made it.
    const keys = await list('/api/v1/projects/acme/keys', ada.access_token);
    expect(keys.map((k) => k.prefix)).toEqual([write.id, read.id, adaKey.id]);
    const fields = new Set(keys.flatMap((k) => Object.keys(k)));
    expect(JSON.stringify(keys)).not.toContain(String(me.id));
    expect([...fields].filter((f) => /user|owner|creat|member|by/.test(f))).toEqual(['created_at']);
  });
});

describe('aliases', () => {
  test('add, list and remove; an alias is unique and never a project id', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, bob.access_token, 'globex');
    const add = (token: string, project: string, body: unknown) =>
      t.call('POST', `/api/v1/projects/${project}/aliases`, { token, body });
    const res = await add(ada.access_token, 'acme', {
      alias: 'acme.com',
      kind: 'plausible_domain',
    });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ alias: 'acme.com', kind: 'plausible_domain' });
    expect((await add(bob.access_token, 'globex', { alias: 'acme.com' })).status).toBe(409);
    expect((await add(bob.access_token, 'globex', { alias: 'acme' })).status).toBe(409);
    expect((await add(ada.access_token, 'acme', { alias: 'x', kind: 'nope' })).status).toBe(422);
    const taken = await t.call('POST', '/api/v1/projects', {
      token: bob.access_token,
      body: { id: 'acme.com', name: 'x' },
    });
    expect(taken.status).toBe(409);
    await add(ada.access_token, 'acme', {
      alias: '5f0b6a4e-8f5d-4a57-9c42-1d2b3c4d5e6f',
      kind: 'umami_website',
    });
    expect(
      (await list('/api/v1/projects/acme/aliases', ada.access_token)).map((a) => a.alias),
    ).toEqual(['acme.com', '5f0b6a4e-8f5d-4a57-9c42-1d2b3c4d5e6f']);
    const removed = await t.call('DELETE', '/api/v1/projects/acme/aliases/acme.com', {
      token: ada.access_token,
    });
    expect(removed.status).toBe(204);
    expect((await add(bob.access_token, 'globex', { alias: 'acme.com' })).status).toBe(201);
  });
});
