// The account routes (auth, users, projects) read their bodies by the rules of every other
// route: a media type matched case-insensitively, 415 for another type or encoding, gzip
// inflated, malformed JSON a 400, a body over its limit a 413; and a field of the wrong type or
// empty is reported as such, not as missing.

import { afterEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { requestLimits } from '../../src/core/index.ts';
import { type AuthApp, join, json, makeAuthApp, signUp } from '../auth/harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const PASSWORD = 'correct horse 1';

/** A route of the account group that reads a body, and a body it takes (given a project). */
interface BodyRoute {
  method: string;
  path: string;
  body: Record<string, unknown>;
  /** The refusal of a body that was read but names nothing (a token that is no token). */
  unknownStatus?: number;
}

/** Every account route with a body; `p1` is a project of the caller, `bob` a member of it. */
const BODY_ROUTES: BodyRoute[] = [
  { method: 'POST', path: '/api/v1/auth/register', body: { email: 'x@b.co', password: PASSWORD } },
  { method: 'POST', path: '/api/v1/auth/login', body: { email: 'ada@b.co', password: PASSWORD } },
  {
    method: 'POST',
    path: '/api/v1/auth/refresh',
    body: { refresh_token: 'rt_x' },
    unknownStatus: 401,
  },
  { method: 'PUT', path: '/api/v1/users/me', body: { name: 'Ada' } },
  { method: 'POST', path: '/api/v1/projects', body: { name: 'Acme' } },
  {
    method: 'POST',
    path: '/api/v1/projects/p1/members',
    body: { email: 'bob@b.co', role: 'viewer' },
  },
  { method: 'POST', path: '/api/v1/projects/p1/invitations', body: { email: 'cy@b.co' } },
  {
    method: 'POST',
    path: '/api/v1/invitations/accept',
    body: { token: 'iv_x' },
    unknownStatus: 404,
  },
  { method: 'POST', path: '/api/v1/projects/p1/keys', body: { kind: 'write' } },
  { method: 'POST', path: '/api/v1/projects/p1/aliases', body: { alias: 'site-1' } },
  // Last: its refresh token names no session, so it ends the bearer token's (204).
  { method: 'POST', path: '/api/v1/auth/logout', body: { refresh_token: 'rt_x' } },
];

/** An app with Ada (who owns project p1) and Bob (a member of it); Ada's access token. */
async function withAccounts(): Promise<string> {
  t = await makeAuthApp();
  const ada = await signUp(t, 'ada@b.co', PASSWORD);
  const bob = await signUp(t, 'bob@b.co', PASSWORD);
  const made = await t.call('POST', '/api/v1/projects', {
    token: ada.access_token,
    body: { id: 'p1', name: 'p1' },
  });
  expect(made.status).toBe(201);
  const invitee = { email: 'bob@b.co', token: bob.access_token };
  expect((await join(t, ada.access_token, 'p1', invitee)).status).toBe(200);
  return ada.access_token;
}

describe('media types and encodings', () => {
  test('Application/JSON is JSON: media types are case-insensitive', async () => {
    const token = await withAccounts();
    const problems: string[] = [];
    for (const route of BODY_ROUTES) {
      const res = await t.call(route.method, route.path, {
        token,
        text: JSON.stringify(route.body),
        headers: { 'content-type': 'Application/JSON; charset=UTF-8' },
      });
      // The refresh and invitation tokens are none: past the body, refused as unknown.
      if (res.status >= 400 && res.status !== route.unknownStatus) {
        problems.push(`${route.method} ${route.path}: ${res.status} ${await res.text()}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('another content type is 415 naming what the route takes', async () => {
    const token = await withAccounts();
    for (const route of BODY_ROUTES) {
      const res = await t.call(route.method, route.path, {
        token,
        text: '<user/>',
        headers: { 'content-type': 'application/xml' },
      });
      expect(res.status).toBe(415);
      expect((await json(res)).code).toBe('unsupported_media_type');
    }
    const form = await t.call('POST', '/api/v1/auth/register', {
      form: { email: 'x@b.co', password: PASSWORD },
    });
    expect(form.status).toBe(415);
    expect(await json(form)).toEqual({
      detail:
        'Content-Type application/x-www-form-urlencoded is not supported here; send application/json',
      code: 'unsupported_media_type',
    });
  });

  // README "Ingest": a charset Tally cannot read is a 415 naming it on every route that reads a
  // body, accounts included, before the body is read.
  test('a charset Tally cannot read is a 415 naming it', async () => {
    const token = await withAccounts();
    for (const route of BODY_ROUTES) {
      const res = await t.call(route.method, route.path, {
        token,
        text: JSON.stringify(route.body),
        headers: { 'content-type': 'application/json; charset=utf-16le' },
      });
      expect([route.path, res.status]).toEqual([route.path, 415]);
      expect((await json(res)).detail).toStartWith(
        'Content-Type charset utf-16le is not supported',
      );
    }
  });

  test('login, refresh and logout also take multipart/form-data, as a FormData fetch sends', async () => {
    t = await makeAuthApp();
    await signUp(t, 'ada@example.com');
    const multipart = async (fields: Record<string, string>) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      const request = new Request('http://localhost/', { method: 'POST', body: form });
      const headers = { 'content-type': request.headers.get('content-type') ?? '' };
      return { bytes: new Uint8Array(await request.arrayBuffer()), headers };
    };
    const login = await t.call(
      'POST',
      '/api/v1/auth/login',
      await multipart({ username: 'ada@example.com', password: PASSWORD }),
    );
    expect(login.status).toBe(200);
    const tokens = (await json(login)) as { refresh_token: string };
    const refresh = await t.call(
      'POST',
      '/api/v1/auth/refresh',
      await multipart({ refresh_token: tokens.refresh_token }),
    );
    expect(refresh.status).toBe(200);
    const broken = await t.call('POST', '/api/v1/auth/login', {
      bytes: new TextEncoder().encode('--x\r\nnot a part'),
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    });
    expect(broken.status).toBe(400);
  });

  // URLSearchParams made `%FF` U+FFFD: a password of U+FFFD was signed in with `%FF` (or any
  // escape that is no UTF-8), where a JSON body that is not UTF-8 is a 400.
  test('a urlencoded form whose escapes or bytes are not UTF-8 is a 400 naming the field', async () => {
    t = await makeAuthApp();
    const password = 'correct horse \uFFFD';
    const registered = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'ada@example.com', password },
    });
    expect(registered.status).toBe(201);
    const form = (text: string | Uint8Array<ArrayBuffer>) =>
      t.call('POST', '/api/v1/auth/login', {
        ...(typeof text === 'string' ? { text } : { bytes: text }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const escaped = await form('username=ada%40example.com&password=correct+horse+%FF');
    expect(escaped.status).toBe(400);
    expect(await json(escaped)).toEqual({
      detail:
        'the form body is not valid: the field password is not UTF-8 (each %XX escape is a ' +
        'byte, and the bytes must spell UTF-8; send % itself as %25)',
      code: 'bad_request',
    });
    // A raw byte that is no UTF-8, unescaped, in a field's name.
    const raw = Buffer.concat([
      Buffer.from('username=a&pass'),
      Buffer.from([0xff]),
      Buffer.from('=x'),
    ]);
    const rawName = await form(new Uint8Array(raw));
    expect(rawName.status).toBe(400);
    expect((await json(rawName)).detail).toContain('a field name is not UTF-8');
    // The password itself, escaped as UTF-8, still signs in; a lone % stays itself.
    const good = await form(`username=ada%40example.com&password=${encodeURIComponent(password)}`);
    expect(good.status).toBe(200);
    const refresh = await t.call('POST', '/api/v1/auth/refresh', {
      text: 'grant_type=refresh_token&refresh_token=rt_%E9',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(refresh.status).toBe(400);
    const lonePercent = await form('username=ada%40example.com&password=100%');
    expect(lonePercent.status).toBe(401);
  });

  // The same U+FFFD, reached two other ways: bytes that are no UTF-8 in a multipart field
  // (FormData decoding makes them U+FFFD), and a lone UTF-16 surrogate escaped in JSON
  // (`"\ud800"`: SQLite and argon2 take the text as UTF-8, which has U+FFFD in its place).
  test('a multipart field that is not UTF-8 is a 400 naming it; its files are not read', async () => {
    t = await makeAuthApp();
    const password = 'correct horse \uFFFD';
    const registered = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'ada@example.com', password },
    });
    expect(registered.status).toBe(201);
    const part = (name: string, value: Buffer, file = '') =>
      Buffer.concat([
        Buffer.from(`--x\r\nContent-Disposition: form-data; name="${name}"${file}\r\n\r\n`),
        value,
        Buffer.from('\r\n'),
      ]);
    const login = (passwordBytes: Buffer, extra: Buffer[] = []) =>
      t.call('POST', '/api/v1/auth/login', {
        bytes: new Uint8Array(
          Buffer.concat([
            part('username', Buffer.from('ada@example.com')),
            part('password', passwordBytes),
            ...extra,
            Buffer.from('--x--\r\n'),
          ]),
        ),
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
      });
    const bad = await login(Buffer.concat([Buffer.from('correct horse '), Buffer.from([0xff])]));
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({
      detail:
        'the multipart/form-data body is not valid: the field password is not UTF-8 (send ' +
        'each text field in UTF-8)',
      code: 'bad_request',
    });
    // The password itself, in UTF-8, signs in, beside a file that is no UTF-8 (not read).
    const file = part('avatar', Buffer.from([0xff, 0xfe]), '; filename="a.bin"');
    expect((await login(Buffer.from(password), [file])).status).toBe(200);
  });

  test('an email or a password holding a lone UTF-16 surrogate is a 422 naming it', async () => {
    t = await makeAuthApp();
    const password = 'correct horse \uFFFD';
    const registered = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'ada@example.com', password },
    });
    expect(registered.status).toBe(201);
    const send = (method: string, path: string, text: string, token?: string) =>
      t.call(method, path, { text, token, headers: { 'content-type': 'application/json' } });
    const issue = (field: string) => ({
      detail: [
        {
          loc: ['body', field],
          msg: `${field} must be well-formed Unicode (it holds a lone UTF-16 surrogate)`,
          type: 'string_unicode',
        },
      ],
    });
    const login = await send(
      'POST',
      '/api/v1/auth/login',
      '{"email":"ada@example.com","password":"correct horse \\ud800"}',
    );
    expect(login.status).toBe(422);
    expect(await json(login)).toEqual(issue('password'));
    // Two addresses that differ in a lone surrogate would be one account, shown with U+FFFD.
    const email = await send(
      'POST',
      '/api/v1/auth/register',
      '{"email":"bob\\ud800@example.com","password":"long enough 1"}',
    );
    expect(email.status).toBe(422);
    expect(await json(email)).toEqual(issue('email'));
    const tokens = await json(
      await t.call('POST', '/api/v1/auth/login', { body: { email: 'ada@example.com', password } }),
    );
    const change = await send(
      'PUT',
      '/api/v1/users/me',
      `{"current_password":${JSON.stringify(password)},"password":"new horse \\udc00 long"}`,
      tokens.access_token as string,
    );
    expect(change.status).toBe(422);
    expect(await json(change)).toEqual(issue('password'));
    // A U+FFFD itself is well-formed: the password still signs in as it was.
    const ok = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password },
    });
    expect(ok.status).toBe(200);
  });

  test('a gzip body is inflated; another encoding is 415', async () => {
    t = await makeAuthApp();
    const body = { email: 'ada@b.co', password: PASSWORD };
    const gzipped = await t.call('POST', '/api/v1/auth/register', {
      bytes: new Uint8Array(gzipSync(JSON.stringify(body))),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(gzipped.status).toBe(201);
    const brotli = await t.call('POST', '/api/v1/auth/login', {
      text: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
    expect(brotli.status).toBe(415);
    expect(await json(brotli)).toEqual({
      detail: 'Content-Encoding br is not supported; send identity or gzip',
      code: 'unsupported_media_type',
    });
  });

  test('malformed JSON is 400; a body over the limit is 413', async () => {
    const token = await withAccounts();
    const tooLarge = JSON.stringify({ name: 'x'.repeat(requestLimits.accountBodyBytesMax) });
    for (const route of BODY_ROUTES) {
      const malformed = await t.call(route.method, route.path, {
        token,
        text: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      expect(malformed.status).toBe(400);
      expect((await json(malformed)).code).toBe('invalid_json');
      const large = await t.call(route.method, route.path, {
        token,
        text: tooLarge,
        headers: { 'content-type': 'application/json' },
      });
      expect(large.status).toBe(413);
      expect(await json(large)).toEqual({
        detail: `the body is larger than ${requestLimits.accountBodyBytesMax} bytes`,
        code: 'payload_too_large',
      });
    }
  });
});

describe('fields of the wrong type', () => {
  test('a refresh_token that is not a string, or empty, says so', async () => {
    const token = await withAccounts();
    for (const path of ['/api/v1/auth/refresh', '/api/v1/auth/logout']) {
      const number = await t.call('POST', path, { token, body: { refresh_token: 5 } });
      expect(number.status).toBe(422);
      expect(await json(number)).toEqual({
        detail: [
          {
            loc: ['body', 'refresh_token'],
            msg: 'refresh_token must be a string',
            type: 'string_type',
          },
        ],
      });
      const empty = await t.call('POST', path, { token, body: { refresh_token: '' } });
      expect(await json(empty)).toEqual({
        detail: [
          {
            loc: ['body', 'refresh_token'],
            msg: 'refresh_token must not be empty',
            type: 'string_too_short',
          },
        ],
      });
      const list = await t.call('POST', path, { token, body: [] });
      expect(list.status).toBe(422);
      expect(((await json(list)).detail as { type: string }[])[0]?.type).toBe('dict_type');
    }
    // Absent, it is missing on a refresh; a logout then ends the bearer token's session.
    const absent = await t.call('POST', '/api/v1/auth/refresh', { body: {} });
    expect(((await json(absent)).detail as { type: string }[])[0]?.type).toBe('missing');
    expect((await t.call('POST', '/api/v1/auth/logout', { token })).status).toBe(204);
  });

  test("a project's empty name is too short, not missing", async () => {
    const token = await withAccounts();
    const empty = await t.call('POST', '/api/v1/projects', { token, body: { name: ' ' } });
    expect(empty.status).toBe(422);
    expect(await json(empty)).toEqual({
      detail: [{ loc: ['body', 'name'], msg: 'name must not be empty', type: 'string_too_short' }],
    });
    const number = await t.call('POST', '/api/v1/projects', { token, body: { name: 5 } });
    expect(((await json(number)).detail as { type: string }[])[0]?.type).toBe('string_type');
    const absent = await t.call('POST', '/api/v1/projects', { token, body: {} });
    expect(((await json(absent)).detail as { type: string }[])[0]?.type).toBe('missing');
  });

  test("a user's or a key's empty name is none, as null is; a null name clears it", async () => {
    // README: "the optional name of a user or a key left empty (or only spaces) is none".
    const token = await withAccounts();
    const made = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'cy@b.co', password: PASSWORD, name: '   ' },
    });
    expect(made.status).toBe(201);
    expect((await json(made)).name).toBeNull();
    const named = await t.call('PUT', '/api/v1/users/me', { token, body: { name: 'Ada' } });
    expect((await json(named)).name).toBe('Ada');
    const cleared = await t.call('PUT', '/api/v1/users/me', { token, body: { name: '' } });
    expect(cleared.status).toBe(200);
    expect((await json(cleared)).name).toBeNull();
    // "a `null` name clears it", as an empty one does.
    await t.call('PUT', '/api/v1/users/me', { token, body: { name: 'Ada' } });
    const nulled = await t.call('PUT', '/api/v1/users/me', { token, body: { name: null } });
    expect((await json(nulled)).name).toBeNull();
    const key = await t.call('POST', '/api/v1/projects/p1/keys', {
      token,
      body: { kind: 'read', name: ' ' },
    });
    expect(key.status).toBe(201);
    expect((await json(key)).name).toBeNull();
  });
});
