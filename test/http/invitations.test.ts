// Invitations: the only way into a project. An owner invites any email (the answer tells
// nothing about accounts), the token is shown once and stored hashed; the account with that
// email accepts it once, before it expires; owners list and revoke; another project sees none
// of them. The member route only changes roles, and answers every non-member alike.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import {
  type AuthApp,
  invite,
  join,
  json,
  makeAuthApp,
  makeProject,
  signUp,
  T0,
  type Tokens,
} from '../auth/harness.ts';

const DAY_MS = 86_400_000;

let t: AuthApp;
let ada: Tokens;
let bob: Tokens;
beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  bob = await signUp(t, 'bob@example.com');
  await makeProject(t, ada.access_token, 'acme');
});
afterEach(() => t.close());

const send = (project: string, body: unknown, token = ada.access_token) =>
  t.call('POST', `/api/v1/projects/${project}/invitations`, { token, body });
const accept = (invitation: string, token: string) =>
  t.call('POST', '/api/v1/invitations/accept', { token, body: { token: invitation } });
const pendingOf = async (project: string, token = ada.access_token) =>
  (await (
    await t.call('GET', `/api/v1/projects/${project}/invitations`, { token })
  ).json()) as Record<string, unknown>[];
const setRole = (email: string, role = 'viewer') =>
  t.call('POST', '/api/v1/projects/acme/members', {
    token: ada.access_token,
    body: { email, role },
  });
const memberEmails = () => t.auth.stores.projects.members('acme').map((m) => m.email);

describe('inviting', () => {
  test('201 with the token once, stored only as its hash, expiring in 7 days', async () => {
    const res = await send('acme', { email: 'Grace@Example.com', role: 'owner' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    const token = body.token as string;
    expect(token).toMatch(/^iv_[A-Za-z0-9_-]{55}$/);
    expect(body).toEqual({
      id: token.slice(0, 15),
      project_id: 'acme',
      email: 'grace@example.com',
      role: 'owner',
      invited_by: expect.any(String),
      created_at: new Date(T0).toISOString(),
      expires_at: new Date(T0 + 7 * DAY_MS).toISOString(),
      token,
    });
    const rows = t.engine.store.sqlite.query('SELECT * FROM project_invitations').all() as Record<
      string,
      unknown
    >[];
    expect(rows.length).toBe(1);
    expect(JSON.stringify(rows)).not.toContain(token.slice(15));
    const hash = createHash('sha256').update(token).digest();
    expect(Buffer.from(rows[0]?.token_hash as Uint8Array)).toEqual(hash);
    // Listed without the token.
    const { token: _shownOnce, ...listed } = body;
    expect(await pendingOf('acme')).toEqual([listed]);
  });

  test('the answer is the same whether or not an account has the email', async () => {
    const shapeOf = async (email: string) => {
      const res = await send('acme', { email });
      const body = await json(res);
      return { status: res.status, keys: Object.keys(body).sort(), email: body.email };
    };
    const registered = await shapeOf('bob@example.com');
    const unknown = await shapeOf('nobody@example.com');
    expect(registered).toEqual({ ...unknown, email: 'bob@example.com' });
    expect(registered.status).toBe(201);
  });

  test("a member's email is 409; a viewer 403; a non-member 404; no token 401", async () => {
    expect((await send('acme', { email: 'ada@example.com' })).status).toBe(409);
    expect(await join(t, ada.access_token, 'acme', invitee(bob))).toHaveProperty('status', 200);
    const again = await send('acme', { email: 'BOB@example.com' });
    expect(again.status).toBe(409);
    expect(await json(again)).toEqual({
      detail: 'bob@example.com is already a member of acme',
      code: 'conflict',
    });
    expect((await send('acme', { email: 'x@example.com' }, bob.access_token)).status).toBe(403);
    const carol = await signUp(t, 'carol@example.com');
    expect((await send('acme', { email: 'x@example.com' }, carol.access_token)).status).toBe(404);
    const anonymous = await t.call('POST', '/api/v1/projects/acme/invitations', {
      body: { email: 'x@example.com' },
    });
    expect(anonymous.status).toBe(401);
    const bad = await send('acme', { email: 'not an email', role: 'admin' });
    expect(bad.status).toBe(422);
    expect(t.auth.stores.invitations.pending('acme', t.clock.now())).toEqual([]);
  });

  test('a role other than owner or viewer is 422; a viewer cannot invite even a viewer', async () => {
    for (const role of ['admin', 'Owner', 'owner ', '', ['owner'], 1]) {
      const res = await send('acme', { email: 'grace@example.com', role });
      expect(res.status).toBe(422);
      expect((await json(res)).detail).toEqual([
        expect.objectContaining({ loc: ['body', 'role'] }),
      ]);
    }
    await join(t, ada.access_token, 'acme', invitee(bob));
    for (const role of ['owner', 'viewer']) {
      const res = await send('acme', { email: 'grace@example.com', role }, bob.access_token);
      expect(res.status).toBe(403);
    }
    expect(await pendingOf('acme')).toEqual([]);
  });

  test('inviting a pending email again replaces its invitation: the old token stops', async () => {
    const first = await invite(t, ada.access_token, 'acme', 'bob@example.com', 'owner');
    const second = await invite(t, ada.access_token, 'acme', 'bob@example.com', 'viewer');
    const listed = await pendingOf('acme');
    expect(listed.map((i) => [i.email, i.role])).toEqual([['bob@example.com', 'viewer']]);
    expect((await accept(first, bob.access_token)).status).toBe(404);
    const joined = await accept(second, bob.access_token);
    expect(joined.status).toBe(200);
    expect((await json(joined)).role).toBe('viewer');
  });
});

describe('accepting', () => {
  test('the invited account joins with the role; the token works once', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'BOB@example.com', 'owner');
    const res = await accept(token, bob.access_token);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      id: 'acme',
      tenant: 'acme',
      name: 'acme',
      role: 'owner',
      created_at: new Date(T0).toISOString(),
      retention_days: null,
    });
    expect(memberEmails()).toEqual(['ada@example.com', 'bob@example.com']);
    const project = await t.call('GET', '/api/v1/projects/acme', { token: bob.access_token });
    expect((await json(project)).role).toBe('owner');
    expect(await pendingOf('acme')).toEqual([]);
    const twice = await accept(token, bob.access_token);
    expect(twice.status).toBe(404);
    expect((await json(twice)).detail).toStartWith('no pending invitation has this token');
  });

  test('an address is one in any letter case, spacing or Unicode composition', async () => {
    // é precomposed (NFC), and e + U+0301 (NFD): the same address, as it renders the same.
    const nfc = 'jos\u00e9@example.com';
    const nfd = 'JOSE\u0301@example.com ';
    const jose = await signUp(t, nfc);
    const again = await t.call('POST', '/api/v1/auth/register', {
      body: { email: nfd, password: 'correct horse 2' },
    });
    expect(again.status).toBe(409);
    expect((await logInAs(nfd)).status).toBe(200);
    const token = await invite(t, ada.access_token, 'acme', nfd);
    expect((await pendingOf('acme'))[0]?.email).toBe(nfc);
    expect((await accept(token, jose.access_token)).status).toBe(200);
    expect(memberEmails()).toEqual(['ada@example.com', nfc]);
    expect((await setRole(`  ${nfd.toUpperCase()}`, 'owner')).status).toBe(201);
  });

  test('another account is 403 without naming the invitee, and changes nothing', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'grace@example.com');
    const res = await accept(token, bob.access_token);
    expect(res.status).toBe(403);
    const body = await json(res);
    expect(body.code).toBe('forbidden');
    expect(JSON.stringify(body)).not.toContain('grace');
    expect(memberEmails()).toEqual(['ada@example.com']);
    const grace = await signUp(t, 'grace@example.com');
    expect((await accept(token, grace.access_token)).status).toBe(200);
  });

  test('expired is 410, unknown or malformed 404, no sign-in 401', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'bob@example.com');
    t.clock.advance(7 * DAY_MS - 1);
    // Access tokens last minutes: sign in again.
    ada = await logIn('ada@example.com');
    bob = await logIn('bob@example.com');
    expect((await pendingOf('acme')).length).toBe(1);
    t.clock.advance(1);
    expect(await pendingOf('acme')).toEqual([]);
    const expired = await accept(token, bob.access_token);
    expect(expired.status).toBe(410);
    expect(await json(expired)).toEqual({
      detail: 'this invitation has expired; ask a project owner for a new invitation',
      code: 'gone',
    });
    expect(memberEmails()).toEqual(['ada@example.com']);
    // The same lookup id with another secret, a token of another kind, and nonsense.
    const forged = `${token.slice(0, 15)}${'A'.repeat(43)}`;
    for (const other of [forged, `rt_${token.slice(3)}`, 'iv_x']) {
      expect((await accept(other, bob.access_token)).status).toBe(404);
    }
    const anonymous = await t.call('POST', '/api/v1/invitations/accept', { body: { token } });
    expect(anonymous.status).toBe(401);
    const missing = await t.call('POST', '/api/v1/invitations/accept', {
      token: bob.access_token,
      body: {},
    });
    expect(missing.status).toBe(422);
  });

  test('an existing member is 409 and the invitation stays', async () => {
    // One invitation to Bob's new address, while he joins under his current one and then
    // changes his email to the new address.
    const token = await invite(t, ada.access_token, 'acme', 'bob@new.example');
    expect((await join(t, ada.access_token, 'acme', invitee(bob))).status).toBe(200);
    const moved = await t.call('PUT', '/api/v1/users/me', {
      token: bob.access_token,
      body: { email: 'bob@new.example', current_password: 'correct horse 1' },
    });
    expect(moved.status).toBe(200);
    const res = await accept(token, bob.access_token);
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual({
      detail: 'you are already a member of acme',
      code: 'conflict',
    });
    expect((await pendingOf('acme')).length).toBe(1);
  });
});

describe('an accept whose body arrives after a change of the account', () => {
  // The caller is signed in before the body is read; the account's email (or the account
  // itself) may change in between. What counts is the account as it is when the accept runs.
  const slowAccept = (tokens: Tokens) => {
    let feed = (_chunk: string | null) => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        feed = (chunk) => {
          if (chunk === null) controller.close();
          else controller.enqueue(new TextEncoder().encode(chunk));
        };
      },
    });
    const answer = t.handle(
      new Request('http://localhost/api/v1/invitations/accept', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.access_token}`,
          'content-type': 'application/json',
        },
        body,
      }),
    );
    const finish = (token: string) => {
      feed(JSON.stringify({ token }));
      feed(null);
    };
    return { answer, finish };
  };

  test('an email changed away from the invited one accepts nothing', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'bob@example.com');
    const slow = slowAccept(bob);
    await new Promise((resolve) => setImmediate(resolve));
    const moved = await t.call('PUT', '/api/v1/users/me', {
      token: bob.access_token,
      body: { email: 'bob@elsewhere.example', current_password: 'correct horse 1' },
    });
    expect(moved.status).toBe(200);
    slow.finish(token);
    expect((await slow.answer).status).toBe(403);
    expect(memberEmails()).toEqual(['ada@example.com']);
    // The invitation waits for whoever holds the address now.
    const newBob = await signUp(t, 'bob@example.com');
    expect((await accept(token, newBob.access_token)).status).toBe(200);
  });

  test('a deleted account is 401, not a 500, and nothing is written', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'bob@example.com');
    const slow = slowAccept(bob);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await t.call('DELETE', '/api/v1/users/me', { token: bob.access_token })).status).toBe(
      204,
    );
    slow.finish(token);
    const res = await slow.answer;
    expect(res.status).toBe(401);
    // Refused when the caller is checked again once the body is in (its session went with
    // the account), before the accept looks at the account.
    expect(await json(res)).toEqual({
      detail: 'the session of this access token has ended',
      code: 'unauthorized',
    });
    expect(memberEmails()).toEqual(['ada@example.com']);
    expect((await pendingOf('acme')).length).toBe(1);
    expect(t.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  });
});

describe('listing and revoking', () => {
  test('owners list and revoke; the revoked token stops; viewers 403', async () => {
    await join(t, ada.access_token, 'acme', invitee(bob));
    const token = await invite(t, ada.access_token, 'acme', 'grace@example.com');
    const [pending] = await pendingOf('acme');
    const path = `/api/v1/projects/acme/invitations/${pending?.id}`;
    const list = await t.call('GET', '/api/v1/projects/acme/invitations', {
      token: bob.access_token,
    });
    expect(list.status).toBe(403);
    expect((await t.call('DELETE', path, { token: bob.access_token })).status).toBe(403);
    expect((await t.call('DELETE', path, { token: ada.access_token })).status).toBe(204);
    expect((await t.call('DELETE', path, { token: ada.access_token })).status).toBe(404);
    expect(await pendingOf('acme')).toEqual([]);
    const grace = await signUp(t, 'grace@example.com');
    expect((await accept(token, grace.access_token)).status).toBe(404);
  });

  test("another project's invitations are invisible and cannot be revoked", async () => {
    await makeProject(t, bob.access_token, 'globex');
    const token = await invite(t, ada.access_token, 'acme', 'grace@example.com');
    const [pending] = await pendingOf('acme');
    expect(await pendingOf('globex', bob.access_token)).toEqual([]);
    for (const [project, who] of [
      ['globex', bob.access_token],
      ['globex', ada.access_token],
      ['acme', bob.access_token],
    ] as const) {
      const path = `/api/v1/projects/${project}/invitations/${pending?.id}`;
      expect((await t.call('DELETE', path, { token: who })).status).toBe(404);
    }
    const grace = await signUp(t, 'grace@example.com');
    expect((await accept(token, grace.access_token)).status).toBe(200);
    expect(t.auth.stores.projects.roleOf('globex', userIdOf(grace))).toBeNull();
  });
});

describe('what deletions do to invitations', () => {
  test('deleting the project deletes its invitations', async () => {
    const token = await invite(t, ada.access_token, 'acme', 'bob@example.com');
    const deleted = await t.call('DELETE', '/api/v1/projects/acme', { token: ada.access_token });
    expect(deleted.status).toBe(204);
    const rows = t.engine.store.sqlite.query('SELECT * FROM project_invitations').all();
    expect(rows).toEqual([]);
    await makeProject(t, ada.access_token, 'acme');
    expect((await accept(token, bob.access_token)).status).toBe(404);
  });

  test("the invitee's account going leaves the invitations to its email pending", async () => {
    const token = await invite(t, ada.access_token, 'acme', 'bob@example.com');
    const gone = await t.call('DELETE', '/api/v1/users/me', { token: bob.access_token });
    expect(gone.status).toBe(204);
    const [pending] = await pendingOf('acme');
    expect(pending).toMatchObject({ email: 'bob@example.com', invited_by: userIdOf(ada) });
    const newBob = await signUp(t, 'bob@example.com');
    expect((await accept(token, newBob.access_token)).status).toBe(200);
    expect(memberEmails()).toEqual(['ada@example.com', 'bob@example.com']);
  });
});

describe('an invitation lasts while its inviter is an owner', () => {
  // An owner the others remove must not come back through an invitation sent before, to a
  // second account of their own: each way of losing ownership revokes what they sent, and
  // only that (Ada's invitation stays).
  const losses: [string, (mal: Tokens) => Promise<Response>][] = [
    ['steps down to viewer', () => setRole('mal@example.com', 'viewer')],
    [
      'is removed by another owner',
      (mal) =>
        t.call('DELETE', `/api/v1/projects/acme/members/${userIdOf(mal)}`, {
          token: ada.access_token,
        }),
    ],
    [
      'leaves',
      (mal) =>
        t.call('DELETE', `/api/v1/projects/acme/members/${userIdOf(mal)}`, {
          token: mal.access_token,
        }),
    ],
    [
      'deletes the account',
      (mal) => t.call('DELETE', '/api/v1/users/me', { token: mal.access_token }),
    ],
  ];
  for (const [how, lose] of losses) {
    test(`the inviter ${how}: their invitations are revoked`, async () => {
      const mal = await signUp(t, 'mal@example.com');
      await join(t, ada.access_token, 'acme', invitee(mal), 'owner');
      const back = await invite(t, mal.access_token, 'acme', 'mal2@example.com', 'owner');
      const kept = await invite(t, ada.access_token, 'acme', 'bob@example.com');
      expect((await lose(mal)).status).toBeLessThan(300);
      expect((await pendingOf('acme')).map((i) => i.email)).toEqual(['bob@example.com']);
      const mal2 = await signUp(t, 'mal2@example.com');
      const res = await accept(back, mal2.access_token);
      expect(res.status).toBe(404);
      expect(t.auth.stores.projects.roleOf('acme', userIdOf(mal2))).toBeNull();
      expect((await accept(kept, bob.access_token)).status).toBe(200);
    });
  }

  test("an inviter who stays an owner keeps theirs when another member's role changes", async () => {
    await join(t, ada.access_token, 'acme', invitee(bob), 'owner');
    const token = await invite(t, ada.access_token, 'acme', 'grace@example.com');
    expect((await setRole('bob@example.com', 'viewer')).status).toBe(201);
    expect((await setRole('ada@example.com', 'owner')).status).toBe(201);
    const grace = await signUp(t, 'grace@example.com');
    expect((await accept(token, grace.access_token)).status).toBe(200);
  });
});

describe('the member route changes roles only', () => {
  test('a non-member is 404 pointing to invitations, alike with or without an account', async () => {
    const registered = await setRole('bob@example.com');
    const unknown = await setRole('nobody@example.com');
    expect(registered.status).toBe(404);
    expect(unknown.status).toBe(404);
    const bodyOf = async (res: Response, email: string) =>
      JSON.stringify(await json(res)).replace(email, '<email>');
    expect(await bodyOf(registered, 'bob@example.com')).toBe(
      await bodyOf(unknown, 'nobody@example.com'),
    );
    expect(await json(await setRole('bob@example.com'))).toEqual({
      detail:
        'bob@example.com is not a member of acme; invite them with ' +
        'POST /api/v1/projects/acme/invitations (they join when they accept)',
      code: 'not_found',
    });
    expect(memberEmails()).toEqual(['ada@example.com']);
  });

  test("a member's role changes (201), as before", async () => {
    await join(t, ada.access_token, 'acme', invitee(bob));
    const res = await setRole('Bob@Example.com', 'owner');
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ email: 'bob@example.com', role: 'owner' });
    expect(t.auth.stores.projects.roleOf('acme', userIdOf(bob))).toBe('owner');
  });

  test('a change names the role: without one (or null) it is 422 and the role stays', async () => {
    await join(t, ada.access_token, 'acme', invitee(bob));
    expect((await setRole('bob@example.com', 'owner')).status).toBe(201);
    for (const body of [{ email: 'bob@example.com' }, { email: 'bob@example.com', role: null }]) {
      const res = await t.call('POST', '/api/v1/projects/acme/members', {
        token: ada.access_token,
        body,
      });
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({
        detail: [{ loc: ['body', 'role'], msg: 'role is required', type: 'missing' }],
      });
      expect(t.auth.stores.projects.roleOf('acme', userIdOf(bob))).toBe('owner');
    }
  });
});

function logInAs(email: string): Promise<Response> {
  return t.call('POST', '/api/v1/auth/login', { body: { email, password: 'correct horse 1' } });
}

async function logIn(email: string): Promise<Tokens> {
  const res = await t.call('POST', '/api/v1/auth/login', {
    body: { email, password: 'correct horse 1' },
  });
  return (await res.json()) as Tokens;
}

function invitee(tokens: Tokens): { email: string; token: string } {
  const email = t.auth.stores.users.byId(userIdOf(tokens))?.email as string;
  return { email, token: tokens.access_token };
}

function userIdOf(tokens: Tokens): string {
  const payload = tokens.access_token.split('.')[1] as string;
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub: string }).sub;
}
