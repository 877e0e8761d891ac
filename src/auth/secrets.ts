// Opaque secrets: API keys (`wk_…`, `rk_…`), refresh tokens (`rt_…`) and invitations
// (`iv_…`). Each is a public lookup id followed by 256 random bits; only the SHA-256 of the
// whole token is stored, and a presented token is checked against it in constant time.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type SecretKind = 'wk' | 'rk' | 'rt' | 'iv';

const LOOKUP_BYTES = 9; // 12 base64url characters
const SECRET_BYTES = 32; // 43 base64url characters
const LOOKUP_CHARS = 12;
const SECRET_CHARS = 43;
const SHAPE = /^(wk|rk|rt|iv)_[A-Za-z0-9_-]{55}$/;

export interface NewSecret {
  /** The whole token, shown once to its owner. */
  token: string;
  /** The public part that finds its row, e.g. `wk_3fK9c0Qx_a1B`; safe to list and log. */
  id: string;
  /** SHA-256 of the token, the only form stored. */
  hash: Buffer;
}

export function newSecret(kind: SecretKind): NewSecret {
  const lookup = randomBytes(LOOKUP_BYTES).toString('base64url');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const id = `${kind}_${lookup}`;
  const token = `${id}${secret}`;
  return { token, id, hash: sha256(token) };
}

/** The lookup id of a well-formed token of `kind`, or null. */
export function secretIdOf(token: string, kind: SecretKind): string | null {
  if (token.length !== kind.length + 1 + LOOKUP_CHARS + SECRET_CHARS) return null;
  if (!SHAPE.test(token) || !token.startsWith(`${kind}_`)) return null;
  return token.slice(0, kind.length + 1 + LOOKUP_CHARS);
}

// A whole token anywhere in a text, not inside a longer run of token characters.
const IN_TEXT = new RegExp(
  `(?<![A-Za-z0-9_-])((?:wk|rk|rt|iv)_[A-Za-z0-9_-]{${LOOKUP_CHARS}})` +
    `[A-Za-z0-9_-]{${SECRET_CHARS}}(?![A-Za-z0-9_-])`,
  'g',
);

/**
 * `text` with each whole token in it cut to its public id and `…`, for logs: a token sent
 * where its id belongs (a path such as DELETE …/invitations/<token>) must not be written out.
 */
function redactSecrets(text: string): string {
  return text.replace(IN_TEXT, '$1…');
}

/**
 * A request path for the log: its tokens cut as `redactSecrets` cuts them, also one spelled with
 * percent-escapes (`rk%5F…`, which the router decodes into the token it takes): such a path is
 * logged decoded, with the token cut; any other path as it came.
 */
export function redactPath(path: string): string {
  const redacted = redactSecrets(path);
  if (!path.includes('%')) return redacted;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return redacted; // not valid percent-encoding: no route decoded a token out of it
  }
  const cut = redactSecrets(decoded);
  return cut === decoded ? redacted : cut;
}

/** Whether `token` hashes to `storedHash`, compared in constant time. */
export function secretMatches(token: string, storedHash: Uint8Array): boolean {
  return constantTimeEqual(sha256(token), storedHash);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two byte strings (false at once when the lengths differ). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** A random password for generated accounts: 24 base64url characters (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
