// Access tokens: compact JWTs signed with HMAC-SHA256. The algorithm is pinned (a token naming
// any other `alg`, including `none`, is refused before its signature is looked at) and the
// `kid` header picks the signing secret, so secrets can rotate while older tokens expire.

import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './secrets.ts';

const JWT_ISSUER = 'tally';
/** Characters of an access token at most; a longer one is refused before it is parsed. */
export const ACCESS_TOKEN_CHARS_MAX = 4096;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

export interface AccessClaims {
  /** The user id. */
  sub: string;
  /** The session (refresh-token family) the token was issued for. */
  sid: string;
  /** Issued at and expiry, seconds since the epoch (JWT NumericDate). */
  iat: number;
  exp: number;
}

export type JwtCheck = { kind: 'ok'; claims: AccessClaims } | { kind: 'invalid'; reason: string };

export function signAccessToken(claims: AccessClaims, kid: string, secret: Uint8Array): string {
  const header = encodeJson({ alg: 'HS256', typ: 'JWT', kid });
  const payload = encodeJson({ iss: JWT_ISSUER, typ: 'access', ...claims });
  const input = `${header}.${payload}`;
  return `${input}.${hmac(input, secret).toString('base64url')}`;
}

/**
 * Checks shape, algorithm, key id, signature (constant time), then the claims against `nowMs`.
 * `secretOf(kid)` answers the secret of a usable key, or null for an unknown or retired one.
 */
export function verifyAccessToken(
  token: string,
  secretOf: (kid: string) => Uint8Array | null,
  nowMs: number,
): JwtCheck {
  if (token.length > ACCESS_TOKEN_CHARS_MAX) return invalid('token too long');
  const parts = token.split('.');
  if (parts.length !== 3) return invalid('not a compact JWT');
  const [head, body, signature] = parts as [string, string, string];
  if (!SEGMENT.test(head) || !SEGMENT.test(body)) return invalid('malformed segments');
  const header = decodeJson(head);
  if (header === null) return invalid('malformed header');
  if (header.alg !== 'HS256') return invalid('algorithm not allowed');
  if ('crit' in header) return invalid('critical header extensions are not supported');
  if (typeof header.kid !== 'string') return invalid('no key id');
  const secret = secretOf(header.kid);
  if (secret === null) return invalid('unknown key id');
  if (!SIGNATURE.test(signature)) return invalid('malformed signature');
  // Compared as text: two encodings of the same bytes (padding bits) are not both accepted.
  const expected = hmac(`${head}.${body}`, secret).toString('base64url');
  if (!constantTimeEqual(Buffer.from(signature), Buffer.from(expected))) {
    return invalid('bad signature');
  }
  return checkClaims(decodeJson(body), nowMs);
}

/**
 * When a compact JWT says it expires (epoch ms), read without checking its signature: for a
 * token verified already (a live socket's, checked again once it expires); null when it says
 * nothing readable.
 */
export function accessTokenExpiresAt(token: string): number | null {
  const body = token.split('.')[1];
  if (body === undefined || !SEGMENT.test(body)) return null;
  const exp = decodeJson(body)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
}

function checkClaims(payload: Record<string, unknown> | null, nowMs: number): JwtCheck {
  if (payload === null) return invalid('malformed payload');
  const { sub, sid, iat, exp, iss, typ, nbf } = payload;
  if (iss !== JWT_ISSUER || typ !== 'access') return invalid('not a Tally access token');
  if (typeof sub !== 'string' || typeof sid !== 'string') return invalid('no subject');
  if (typeof iat !== 'number' || typeof exp !== 'number') return invalid('no lifetime');
  const nowSeconds = Math.floor(nowMs / 1000);
  if (exp <= nowSeconds) return invalid('expired');
  if (typeof nbf === 'number' && nbf > nowSeconds) return invalid('not yet valid');
  return { kind: 'ok', claims: { sub, sid, iat, exp } };
}

function invalid(reason: string): JwtCheck {
  return { kind: 'invalid', reason };
}

function hmac(input: string, secret: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(input, 'utf8').digest();
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
