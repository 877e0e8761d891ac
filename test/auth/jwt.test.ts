import { describe, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import { accessTokenExpiresAt, signAccessToken, verifyAccessToken } from '../../src/auth/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const secret = Buffer.alloc(32, 7);
const otherSecret = Buffer.alloc(32, 9);
const secretOf = (kid: string) => (kid === 'k1' ? secret : null);
const claims = { sub: 'user-1', sid: 'session-1', iat: NOW / 1000, exp: NOW / 1000 + 900 };

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sign = (input: string, key: Uint8Array) =>
  createHmac('sha256', key).update(input).digest('base64url');
const payload = { iss: 'tally', typ: 'access', ...claims };

function forge(header: Record<string, unknown>, body: Record<string, unknown>, key = secret) {
  const input = `${b64(header)}.${b64(body)}`;
  return `${input}.${sign(input, key)}`;
}

const reason = (token: string, now = NOW) => {
  const check = verifyAccessToken(token, secretOf, now);
  return check.kind === 'ok' ? 'ok' : check.reason;
};

describe('access tokens', () => {
  test('a token signed here verifies, with its claims', () => {
    const token = signAccessToken(claims, 'k1', secret);
    expect(verifyAccessToken(token, secretOf, NOW)).toEqual({ kind: 'ok', claims });
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
  });

  test('the expiry a token states, in ms (a live socket is checked again then)', () => {
    expect(accessTokenExpiresAt(signAccessToken(claims, 'k1', secret))).toBe(NOW + 900_000);
    const { exp: _, ...timeless } = payload;
    for (const token of ['rk_abc', 'a.b', `x.${b64([1])}.y`, forge({ kid: 'k1' }, timeless)]) {
      expect([token, accessTokenExpiresAt(token)]).toEqual([token, null]);
    }
  });

  test('alg none is refused, with or without a signature', () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(payload)}.`;
    expect(reason(unsigned)).not.toBe('ok');
    expect(reason(forge({ alg: 'none', kid: 'k1' }, payload))).toBe('algorithm not allowed');
    expect(reason(forge({ alg: 'NONE', kid: 'k1' }, payload))).toBe('algorithm not allowed');
  });

  test('any other algorithm is refused, even when the HMAC is right', () => {
    for (const alg of ['HS384', 'HS512', 'RS256', 'ES256', 'hs256']) {
      expect(reason(forge({ alg, kid: 'k1' }, payload))).toBe('algorithm not allowed');
    }
  });

  test('a wrong signature is refused', () => {
    expect(reason(forge({ alg: 'HS256', kid: 'k1' }, payload, otherSecret))).toBe('bad signature');
    const token = signAccessToken(claims, 'k1', secret);
    const last = token.at(-1) as string;
    // The last character carries 2 padding bits: a variant decoding to the same bytes is refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
    expect(reason(`${token.slice(0, -1)}${twin}`)).toBe('bad signature');
    expect(
      reason(`${token.slice(0, -3)}${token.at(-3) === 'A' ? 'B' : 'A'}${token.slice(-2)}`),
    ).toBe('bad signature');
  });

  test('a tampered payload is refused', () => {
    const [head, , signature] = signAccessToken(claims, 'k1', secret).split('.');
    const tampered = `${head}.${b64({ ...payload, sub: 'admin' })}.${signature}`;
    expect(reason(tampered)).toBe('bad signature');
  });

  test('an unknown or missing kid is refused', () => {
    expect(reason(signAccessToken(claims, 'k2', secret))).toBe('unknown key id');
    expect(reason(forge({ alg: 'HS256' }, payload))).toBe('no key id');
  });

  test('an expired token is refused at its exp second', () => {
    const token = signAccessToken(claims, 'k1', secret);
    expect(reason(token, NOW + 899_999)).toBe('ok');
    expect(reason(token, NOW + 900_000)).toBe('expired');
  });

  test('garbage, wrong issuer or type, and critical headers are refused', () => {
    expect(reason('not-a-jwt')).toBe('not a compact JWT');
    expect(reason('a.b.c.d')).toBe('not a compact JWT');
    expect(reason(forge({ alg: 'HS256', kid: 'k1' }, { ...payload, iss: 'x' }))).toBe(
      'not a Tally access token',
    );
    expect(reason(forge({ alg: 'HS256', kid: 'k1' }, { ...payload, typ: 'refresh' }))).toBe(
      'not a Tally access token',
    );
    expect(reason(forge({ alg: 'HS256', kid: 'k1', crit: ['exp'] }, payload))).not.toBe('ok');
    expect(reason('x'.repeat(5000))).toBe('token too long');
  });
});
