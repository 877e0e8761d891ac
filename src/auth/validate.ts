// Checks of the values people send to the account and project routes; each failure is a 422
// naming the field, in the FastAPI shape every other route uses.

import { AppError, eventLimits, retentionLimits, TENANT_PATTERN } from '../core/index.ts';

export const PASSWORD_CHARS_MIN = 10;
/** argon2 hashes any length, but a cap keeps one request from costing unbounded CPU. */
export const PASSWORD_CHARS_MAX = 256;
/**
 * A login password longer than this (in UTF-16 units: 256 characters outside the BMP take 512)
 * cannot be right; it is refused before the rate limiters and the hasher see it.
 */
export const LOGIN_PASSWORD_UNITS_MAX = 2 * PASSWORD_CHARS_MAX;
export const EMAIL_CHARS_MAX = 254;
/** An email address as accounts take it: something@something, no spaces. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
export const NAME_CHARS_MAX = 120;
const ORIGINS_MAX = 32;
const TENANT_RE = new RegExp(TENANT_PATTERN);

type Loc = (string | number)[];

function fail(loc: Loc, msg: string, type: string): never {
  throw AppError.validation([{ loc, msg, type }]);
}

const fieldOf = (loc: Loc) => String(loc.at(-1) ?? 'value');

export function requireString(value: unknown, loc: Loc): string {
  if (value === undefined || value === null) fail(loc, `${fieldOf(loc)} is required`, 'missing');
  if (typeof value !== 'string') fail(loc, `${fieldOf(loc)} must be a string`, 'string_type');
  return value;
}

/**
 * `text` when it is well-formed Unicode; a 422 when it holds a lone UTF-16 surrogate (JSON can
 * escape one, `"\ud800"`). Stored (SQLite) or hashed (argon2), text is UTF-8, where a lone
 * surrogate becomes U+FFFD: two addresses or passwords that differ there would be one, and a
 * password holding U+FFFD would sign in with any lone surrogate in its place.
 */
function requireWellFormed(text: string, loc: Loc): string {
  if (!text.isWellFormed()) {
    fail(
      loc,
      `${fieldOf(loc)} must be well-formed Unicode (it holds a lone UTF-16 surrogate)`,
      'string_unicode',
    );
  }
  return text;
}

/**
 * The one form an address is stored and compared in: trimmed, lower-cased and in Unicode NFC,
 * so `José@x` typed with a precomposed é or with e + U+0301 is one address (one account, and
 * the address an invitation to either form is for), as it renders the same.
 */
export function canonicalEmail(raw: string): string {
  return raw.trim().toLowerCase().normalize('NFC');
}

/** An email address in its canonical form (canonicalEmail). */
export function checkEmail(value: unknown, loc: Loc): string {
  const email = canonicalEmail(requireWellFormed(requireString(value, loc), loc));
  if (email.length > EMAIL_CHARS_MAX || !EMAIL_PATTERN.test(email)) {
    fail(loc, `${fieldOf(loc)} must be an email address`, 'value_error');
  }
  return email;
}

/**
 * The email (or OAuth2 username) of a login, in its canonical form. Only its length (and that
 * it is well-formed Unicode) is checked: an address no account can have is refused the same
 * way whether or not accounts exist, so the check says nothing about them, and the rate
 * limiters never keep a long key.
 */
export function checkLoginEmail(value: unknown, loc: Loc): string {
  const email = requireString(value, loc).trim();
  if (email.length > EMAIL_CHARS_MAX) {
    fail(loc, `${fieldOf(loc)} must be at most ${EMAIL_CHARS_MAX} characters`, 'string_too_long');
  }
  return canonicalEmail(requireWellFormed(email, loc));
}

/** The password of a login: any well-formed string up to LOGIN_PASSWORD_UNITS_MAX UTF-16 units. */
export function checkLoginPassword(value: unknown, loc: Loc): string {
  const password = requireString(value, loc);
  if (password.length > LOGIN_PASSWORD_UNITS_MAX) {
    fail(
      loc,
      `${fieldOf(loc)} must be at most ${LOGIN_PASSWORD_UNITS_MAX} UTF-16 code units`,
      'string_too_long',
    );
  }
  return requireWellFormed(password, loc);
}

export function checkPassword(value: unknown, loc: Loc): string {
  const password = requireWellFormed(requireString(value, loc), loc);
  const chars = [...password].length;
  if (chars < PASSWORD_CHARS_MIN) {
    fail(loc, `password must be at least ${PASSWORD_CHARS_MIN} characters`, 'string_too_short');
  }
  if (chars > PASSWORD_CHARS_MAX) {
    fail(loc, `password must be at most ${PASSWORD_CHARS_MAX} characters`, 'string_too_long');
  }
  return password;
}

/** Whether `text` holds a C0 or C1 control character or DEL (a NUL, a line break, an escape). */
function holdsControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * An optional display name (of a user, a project or a key): absent or null → null. One line of
 * well-formed text: a control character (a NUL, a line break, a terminal escape) would print as
 * something else, or not at all, wherever the name is shown or logged.
 */
export function checkName(value: unknown, loc: Loc): string | null {
  if (value === undefined || value === null) return null;
  const name = requireWellFormed(requireString(value, loc), loc).trim();
  if (name.length > NAME_CHARS_MAX) {
    fail(loc, `${fieldOf(loc)} must be at most ${NAME_CHARS_MAX} characters`, 'string_too_long');
  }
  if (holdsControlChar(name)) {
    fail(
      loc,
      `${fieldOf(loc)} must hold no control character (U+0000–U+001F, U+007F–U+009F)`,
      'string_pattern_mismatch',
    );
  }
  return name === '' ? null : name;
}

/** A tenant string (a project id or an alias): ^[A-Za-z0-9][A-Za-z0-9._:-]*$, ≤ 128 chars. */
export function checkTenantId(value: unknown, loc: Loc): string {
  const id = requireString(value, loc);
  if (id.length > eventLimits.tenantCharsMax || !TENANT_RE.test(id)) {
    fail(
      loc,
      `${fieldOf(loc)} must match ${TENANT_RE.source} and be at most ` +
        `${eventLimits.tenantCharsMax} characters`,
      'string_pattern_mismatch',
    );
  }
  return id;
}

/**
 * A project's `retention_days`: a whole number of days from 1 to retentionDaysMax, 0 to keep
 * its events forever, or null to follow the server's RETENTION_DAYS.
 */
export function checkRetentionDays(value: unknown, loc: Loc): number | null {
  if (value === null) return null;
  const max = retentionLimits.retentionDaysMax;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail(
      loc,
      `${fieldOf(loc)} must be a whole number of days from 1 to ${max}, 0 to keep events ` +
        "forever, or null for the server's RETENTION_DAYS",
      'value_error',
    );
  }
  return value;
}

/**
 * A list of web origins (`scheme://host[:port]`, as originOf spells them), or null when absent.
 * An empty list is a 422: an allow-list naming no origin must never become a key usable from
 * every origin.
 */
export function checkOrigins(value: unknown, loc: Loc): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) fail(loc, `${fieldOf(loc)} must be a list of origins`, 'list_type');
  if (value.length === 0) {
    fail(
      loc,
      `${fieldOf(loc)} must list at least one origin; leave it out for a key usable from any ` +
        'origin',
      'too_short',
    );
  }
  if (value.length > ORIGINS_MAX) {
    fail(loc, `${fieldOf(loc)} holds at most ${ORIGINS_MAX} origins`, 'too_long');
  }
  const origins = value.map((item, i) => {
    const origin = originOf(requireString(item, [...loc, i]));
    if (origin === null) {
      fail(
        [...loc, i],
        'an origin is scheme://host[:port], with no path, query or user',
        'value_error',
      );
    }
    return origin;
  });
  return [...new Set(origins)];
}

/**
 * The origin `text` names, as a browser's Origin header spells it (host lower-cased and in
 * punycode, no default port, no trailing `/`): the form a write key's binding is compared in.
 * Null when `text` is no http(s) origin: it has a path, a query, a fragment or a user.
 */
function originOf(text: string): string | null {
  if (!URL.canParse(text)) return null;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.href === `${url.origin}/` ? url.origin : null;
}

/** The body as a record, or a 422 when it is not a JSON object. */
export function requireObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(['body'], 'the body must be a JSON object', 'dict_type');
  }
  return value as Record<string, unknown>;
}

/** A string that is one of `allowed`; a 422 naming them otherwise. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], loc: string[]): T {
  const text = requireString(value, loc);
  if (!(allowed as readonly string[]).includes(text)) {
    throw AppError.validation([
      { loc, msg: `${loc.at(-1)} must be one of ${allowed.join(', ')}`, type: 'enum' },
    ]);
  }
  return text as T;
}
