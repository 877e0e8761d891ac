// Every tunable of auth, with its default. main.ts fills these from config; tests pass small
// values (cheap password hashing, tight rate limits) directly.

import type { ProjectBounds } from './bounds.ts';
import {
  defaultPasswordCost,
  defaultPasswordHashLimits,
  type PasswordCost,
  type PasswordHashLimits,
} from './passwords.ts';
import type { RateSpec } from './rate-limit.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface AuthRates {
  /**
   * Ingest requests per project: all its write keys share one bucket, so minting keys adds no
   * quota (keyless alias beacons of the project share a second one).
   */
  write: RateSpec;
  /** Read requests per project for its read keys (shared, as write), and per signed-in user. */
  read: RateSpec;
  /**
   * Login attempts per email address from one client address: the strict limit, which a
   * guesser at one address meets first and which does not lock the owner out elsewhere.
   */
  loginEmail: RateSpec;
  /**
   * Login attempts per email address from all addresses together: the brake on guessing
   * spread over many addresses. Its sustained rate is above loginEmail's, so no single address
   * can drain it and lock the owner out. Optional here: when absent, the default, raised to
   * stay above a raised loginEmail (see `resolveAuthOptions`).
   */
  loginEmailTotal?: RateSpec;
  /** Login attempts per client IP. */
  loginIp: RateSpec;
  /** Accounts registered per client IP (each costs a password hash; admins are exempt). */
  registerIp: RateSpec;
  /**
   * Invitations made and member roles changed by email, per signed-in user: each is a message
   * to (or about) someone else's address. Optional here (the default applies when absent).
   */
  memberAdd?: RateSpec;
  /**
   * Projects created per signed-in user (admins are exempt, as from registerIp): each is a
   * new tenant with its own shares of every per-project limit. Optional here.
   */
  projectCreate?: RateSpec;
  /**
   * current_password checks (a new email or password on PUT /users/me) of one user from one
   * client address, the strict limit: each is a password guess, so a stolen access token must
   * not make them without limit. Optional here (the default applies when absent).
   */
  passwordCheckUserIp?: RateSpec;
  /**
   * current_password checks of one user from all addresses together, the loose total (as
   * loginEmailTotal): a guesser at one address stops at the strict limit without draining it,
   * so the owner can still change the password. Optional here (the default applies).
   */
  passwordCheckUser?: RateSpec;
  /**
   * Refresh-token rotations per user, all sessions together: each stores a row kept until it
   * expires (a used token is how a reuse is recognized), so without a limit one account could
   * grow the table without bound. Optional here (the default applies when absent).
   */
  refreshUser?: RateSpec;
}

export interface AuthOptions {
  accessTtlMs: number;
  refreshTtlMs: number;
  /** A new JWT signing secret is made when the current one is this old. */
  signingKeyRotateMs: number;
  /** How long an invitation to a project can be accepted. */
  invitationTtlMs: number;
  /** When false, only an admin can create accounts (POST /api/v1/auth/register with a JWT). */
  registrationOpen: boolean;
  passwordCost: PasswordCost;
  /** Password hashes running and waiting at once (the default applies when absent). */
  passwordHashes?: PasswordHashLimits;
  rates: AuthRates;
  /**
   * Projects per user; keys, aliases, members and pending invitations per project (defaults
   * for those not given).
   */
  bounds: Partial<ProjectBounds>;
  /**
   * Buckets each rate limiter keeps in memory; when full, a refilled bucket makes room first
   * (see `WhenFull` in rate-limit.ts for a limiter full of debts).
   */
  rateKeysMax: number;
}

/** Options with every rate and bound filled in, as createAuth uses them. */
export type ResolvedAuthOptions = AuthOptions & {
  passwordHashes: PasswordHashLimits;
  rates: Required<AuthRates>;
  bounds: ProjectBounds;
};

export const defaultAuthOptions: ResolvedAuthOptions = {
  accessTtlMs: 15 * MINUTE_MS,
  refreshTtlMs: 30 * DAY_MS,
  signingKeyRotateMs: 30 * DAY_MS,
  // A week, as PostHog's invites: long enough to be seen, short enough that a forgotten one
  // does not wait for whoever registers the address a year later.
  invitationTtlMs: 7 * DAY_MS,
  registrationOpen: true,
  passwordCost: defaultPasswordCost,
  passwordHashes: defaultPasswordHashLimits,
  rates: {
    write: { perSecond: 1000, burst: 2000 },
    read: { perSecond: 20, burst: 100 },
    loginEmail: { perSecond: 5 / 60, burst: 5 },
    loginIp: { perSecond: 30 / 60, burst: 30 },
    registerIp: { perSecond: 20 / 3600, burst: 20 },
    loginEmailTotal: { perSecond: 10 / 60, burst: 50 },
    memberAdd: { perSecond: 30 / 3600, burst: 30 },
    passwordCheckUserIp: { perSecond: 5 / 60, burst: 5 },
    passwordCheckUser: { perSecond: 10 / 60, burst: 50 },
    // A client refreshes once per access token (15 minutes): 30 at once covers many devices
    // and retries, then one a minute bounds the rows an account adds to 43,200 a month.
    refreshUser: { perSecond: 1 / 60, burst: 30 },
    // 10 at once for a new team's setup, then one a minute: enough for people, not for a script
    // multiplying its shares.
    projectCreate: { perSecond: 1 / 60, burst: 10 },
  },
  // Far above what a person or a team uses, far below what makes the per-project shares or
  // the SQLite tables a problem. The bootstrap `default` project counts like any other.
  bounds: {
    projectsPerUserMax: 100,
    keysPerProjectMax: 100,
    aliasesPerProjectMax: 100,
    membersPerProjectMax: 1000,
    invitationsPerProjectMax: 100,
  },
  rateKeysMax: 100_000,
};

/** How far the per-email total stays above what one address may try: so it cannot drain it. */
const LOGIN_TOTAL_RATE_FACTOR = 2;
const LOGIN_TOTAL_BURST_FACTOR = 10;

/**
 * Options with every rate filled in: the given ones over the defaults. Unless given, the
 * per-email total follows a raised per-(email, address) limit, staying above what one address
 * may try (else one address could lock the owner out again).
 */
export function resolveAuthOptions(given: Partial<AuthOptions> = {}): ResolvedAuthOptions {
  const rates = { ...defaultAuthOptions.rates, ...given.rates };
  if (given.rates?.loginEmailTotal === undefined) {
    const { loginEmail, loginEmailTotal } = rates;
    rates.loginEmailTotal = {
      perSecond: Math.max(
        loginEmailTotal.perSecond,
        LOGIN_TOTAL_RATE_FACTOR * loginEmail.perSecond,
      ),
      burst: Math.max(loginEmailTotal.burst, LOGIN_TOTAL_BURST_FACTOR * loginEmail.burst),
    };
  }
  const bounds = { ...defaultAuthOptions.bounds, ...given.bounds };
  const passwordHashes = given.passwordHashes ?? defaultAuthOptions.passwordHashes;
  return { ...defaultAuthOptions, ...given, passwordHashes, rates, bounds };
}
