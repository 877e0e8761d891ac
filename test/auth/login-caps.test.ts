import { afterEach, describe, expect, test } from 'bun:test';
import {
  defaultAuthOptions,
  EMAIL_CHARS_MAX,
  LOGIN_PASSWORD_UNITS_MAX,
  resolveAuthOptions,
} from '../../src/auth/index.ts';
import { type AuthApp, json, makeAuthApp, makeKey, makeProject, signUp } from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const login = (body: Record<string, string>, ip = '203.0.113.1') =>
  t.call('POST', '/api/v1/auth/login', { body, headers: { 'x-forwarded-for': ip } });

const tight = (rates: Partial<typeof defaultAuthOptions.rates>) => ({
  trustProxy: true,
  auth: { rates: { ...defaultAuthOptions.rates, ...rates } },
});

describe('login input caps', () => {
  test('an over-long email is a 422 naming the field, before any limiter keeps it', async () => {
    t = await makeAuthApp(tight({ loginIp: { perSecond: 1 / 60, burst: 2 } }));
    const email = `${'a'.repeat(16 * 1024)}@example.com`;
    for (let i = 0; i < 5; i++) {
      const res = await login({ email, password: 'long enough password' });
      expect(res.status).toBe(422);
      expect(await json(res)).toEqual({
        detail: [
          {
            loc: ['body', 'email'],
            msg: `email must be at most ${EMAIL_CHARS_MAX} characters`,
            type: 'string_too_long',
          },
        ],
      });
    }
    // The OAuth2 form names its own field.
    const form = await t.call('POST', '/api/v1/auth/login', {
      form: { username: `${'b'.repeat(EMAIL_CHARS_MAX)}@x`, password: 'long enough password' },
      headers: { 'x-forwarded-for': '203.0.113.1' },
    });
    expect(form.status).toBe(422);
    expect(JSON.stringify(await json(form))).toContain('"loc":["body","username"]');
    // A body past the account body limit is refused before it is parsed.
    const huge = await login({ email: `${'a'.repeat(1024 * 1024)}@example.com`, password: 'x' });
    expect(huge.status).toBe(413);
    // None of those took a token: this address still has its whole burst of 2.
    const a = await login({ email: 'nobody@example.com', password: 'long enough password' });
    const b = await login({ email: 'nobody@example.com', password: 'long enough password' });
    expect([a.status, b.status]).toEqual([401, 401]);
  });

  test('an over-long password is refused alike for known and unknown emails', async () => {
    t = await makeAuthApp(tight({}));
    await signUp(t, 'ada@example.com');
    const password = 'p'.repeat(LOGIN_PASSWORD_UNITS_MAX + 1);
    const known = await login({ email: 'ada@example.com', password });
    const unknown = await login({ email: 'nobody@example.com', password });
    expect(known.status).toBe(422);
    expect(unknown.status).toBe(422);
    expect(await known.text()).toBe(await unknown.text());
    // At the cap the password is merely wrong.
    const atCap = 'p'.repeat(LOGIN_PASSWORD_UNITS_MAX);
    expect((await login({ email: 'ada@example.com', password: atCap })).status).toBe(401);
  });
});

describe('login limits per email and address, and per email', () => {
  test('a guesser at one address does not lock the owner out elsewhere', async () => {
    t = await makeAuthApp(
      tight({
        loginEmail: { perSecond: 1 / 60, burst: 2 },
        loginEmailTotal: { perSecond: 1 / 60, burst: 4 },
      }),
    );
    await signUp(t, 'ada@example.com'); // no forwarded address: its own pair and 1 of the total
    const guess = (ip: string) =>
      login({ email: 'ada@example.com', password: 'wrong guess 1' }, ip);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await guess('198.51.100.66')).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    const owner = await login(
      { email: 'ada@example.com', password: 'correct horse 1' },
      '192.0.2.9',
    );
    expect(owner.status).toBe(200);
  });

  test('guesses spread over many addresses meet the per-email total', async () => {
    t = await makeAuthApp(
      tight({
        loginEmail: { perSecond: 1 / 60, burst: 2 },
        loginEmailTotal: { perSecond: 1 / 60, burst: 3 },
      }),
    );
    const statuses = [];
    for (let i = 1; i <= 4; i++) {
      const res = await login(
        { email: 'ada@example.com', password: 'wrong guess 1' },
        `10.0.0.${i}`,
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    t.clock.advance(60_000);
    expect((await login({ email: 'ada@example.com', password: 'x' }, '10.0.0.5')).status).toBe(401);
  });

  test('a raised per-(email, address) limit raises the per-email total with it', () => {
    const loginEmail = { perSecond: 20 / 60, burst: 20 };
    const base = defaultAuthOptions.rates;
    const { loginEmailTotal: _, ...withoutTotal } = { ...base, loginEmail };
    const { rates } = resolveAuthOptions({ rates: withoutTotal });
    expect(rates.loginEmailTotal.perSecond).toBeGreaterThanOrEqual(2 * loginEmail.perSecond);
    expect(rates.loginEmailTotal.burst).toBeGreaterThanOrEqual(10 * loginEmail.burst);
    // Given explicitly, the total is taken as it is.
    const loginEmailTotal = { perSecond: 1, burst: 3 };
    const given = resolveAuthOptions({ rates: { ...base, loginEmail, loginEmailTotal } });
    expect(given.rates.loginEmailTotal).toEqual(loginEmailTotal);
  });

  test('with the default limits one address guessing at its full rate never drains the total', async () => {
    t = await makeAuthApp({ trustProxy: true });
    await signUp(t, 'ada@example.com');
    const { perSecond } = defaultAuthOptions.rates.loginEmail;
    const everyMs = Math.ceil(1000 / perSecond);
    for (let i = 0; i < 60; i++) {
      t.clock.advance(everyMs);
      const res = await login({ email: 'ada@example.com', password: 'wrong guess 1' }, '10.9.9.9');
      expect(res.status).toBe(401);
    }
    const owner = await login(
      { email: 'ada@example.com', password: 'correct horse 1' },
      '10.1.1.1',
    );
    expect(owner.status).toBe(200);
    expect(defaultAuthOptions.rates.loginEmailTotal.perSecond).toBeGreaterThan(perSecond);
  });
});

// README Limits: at RATE_LIMIT_KEYS_MAX, with every bucket looked at owing, "the limits on logins
// per address and per email … refuse the new key (`429` with `Retry-After`, until one of them
// refills)", while those "on a project's ingest, reads and erasures forget the debt looked at
// longest ago instead".
describe('a rate limit full of debts (RATE_LIMIT_KEYS_MAX)', () => {
  test("logins from a new address are refused until a debt refills; a project's ingest is not", async () => {
    t = await makeAuthApp({ trustProxy: true, auth: { rateKeysMax: 1 } });
    const ada = await signUp(t, 'ada@example.com');
    const keys = [];
    for (const id of ['p1', 'p2']) {
      await makeProject(t, ada.access_token, id);
      keys.push(await makeKey(t, ada.access_token, id, 'write'));
    }
    for (const key of keys) {
      const res = await t.call('POST', '/api/v1/events', { token: key.key, body: { name: 'x' } });
      expect(res.status).toBe(202); // the second project's limit forgot the first one's debt
    }
    t.clock.advance(3_600_000); // the buckets the sign-up took refill: they make room
    const guess = { email: 'ada@example.com', password: 'wrong guess 1' };
    expect((await login(guess, '198.51.100.1')).status).toBe(401); // its address now owes
    // Each limit of the login (per address, per email) refuses bob's new key in turn, saying
    // when one of its buckets refills; once they have, bob's login is checked (a wrong password).
    const bob = () => login({ email: 'bob@example.com', password: 'x' }, '198.51.100.2');
    let res = await bob();
    const waits: number[] = [];
    while (res.status === 429 && waits.length < 5) {
      waits.push(Number(res.headers.get('retry-after')));
      expect((await json(res)).code).toBe('rate_limited');
      t.clock.advance((waits.at(-1) ?? 0) * 1000);
      res = await bob();
    }
    expect(res.status).toBe(401);
    // Ada's address refills a token 2 s after her guess, her email's total 6 s after it.
    const { loginIp, loginEmailTotal } = defaultAuthOptions.rates;
    const perIp = 1 / loginIp.perSecond;
    expect(waits).toEqual([perIp, 1 / loginEmailTotal.perSecond - perIp]);
  });
});
