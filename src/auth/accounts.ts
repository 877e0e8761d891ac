// Accounts and sessions: register, login (rate-limited per email and per IP), refresh with
// rotation, logout, and the signed-in user's own profile. Access tokens are verified against
// the signing keys and the session, so a logout or a password change ends them at once.

import { AppError, addressKeyOf, type Clock } from '../core/index.ts';

import type { AccessLost } from './access-lost.ts';
import { type AccessClaims, signAccessToken, verifyAccessToken } from './jwt.ts';
import type { AuthOptions } from './options.ts';
import type { PasswordHasher } from './passwords.ts';
import type { ProjectStore } from './projects.ts';
import {
  type RateDecision,
  rateLimitHeaders,
  type TokenBucketLimiter,
  takeOrRefuse,
} from './rate-limit.ts';
import type { SessionStore } from './sessions.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import type { User, UserStore } from './users.ts';
import {
  checkEmail,
  checkLoginEmail,
  checkLoginPassword,
  checkName,
  checkPassword,
  requireObject,
} from './validate.ts';

/** Projects named in the message refusing to delete an account that is their only owner. */
const PROJECTS_NAMED_MAX = 10;

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/** Who a verified access token speaks for. */
export interface Principal {
  user: User;
  sessionId: string;
}

export interface AccountDeps {
  users: UserStore;
  sessions: SessionStore;
  projects: ProjectStore;
  signingKeys: SigningKeyRing;
  hasher: PasswordHasher;
  clock: Clock;
  options: AuthOptions;
  /** The strict limit, keyed by email and client address. */
  loginPerEmailAndIp: TokenBucketLimiter;
  /** The loose limit, keyed by email alone. */
  loginPerEmail: TokenBucketLimiter;
  loginPerIp: TokenBucketLimiter;
  registerPerIp: TokenBucketLimiter;
  /** current_password checks, keyed by user (login's per-IP limit applies to them too). */
  passwordCheckPerUserAndIp: TokenBucketLimiter;
  passwordCheckPerUser: TokenBucketLimiter;
  /** Refresh-token rotations, keyed by user (taken before the token is spent). */
  refreshPerUser: TokenBucketLimiter;
  /** Told when a session ends or an account is deleted (live sockets are checked at once). */
  accessLost: AccessLost;
}

export function unauthorized(message: string, error?: 'invalid_token'): AppError {
  const challenge = error === undefined ? 'Bearer' : `Bearer error="${error}"`;
  return new AppError('unauthorized', message, { headers: { 'www-authenticate': challenge } });
}

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  /**
   * Creates an account; when registration is closed, only an admin may. Each client IP may
   * register a few accounts an hour (a password hash is costly), admins any number.
   */
  async register(body: unknown, actor: Principal | null, ip: string | null): Promise<User> {
    const admin = actor?.user.isAdmin === true;
    if (!this.deps.options.registrationOpen && !admin) {
      throw new AppError('forbidden', 'registration is closed; an admin can create accounts');
    }
    // Before the rate is spent; nothing is awaited from here to the hash.
    this.deps.hasher.requireRoom();
    if (!admin) {
      const decision = this.deps.registerPerIp.take(addressKeyOf(ip));
      if (!decision.allowed) {
        throw new AppError('rate_limited', 'too many accounts registered from here; retry later', {
          retryAfterMs: decision.retryAfterMs,
          headers: rateLimitHeaders(decision),
        });
      }
    }
    const fields = requireObject(body);
    const email = checkEmail(fields.email, ['body', 'email']);
    const password = checkPassword(fields.password, ['body', 'password']);
    const name = checkName(fields.name, ['body', 'name']);
    if (this.deps.users.withHashByEmail(email) !== null) throw emailTaken();
    const passwordHash = await this.deps.hasher.hash(password);
    // With registration closed the admin's session is the authority: checked again after the
    // (slow) hash, with nothing awaited before the write, so an admin signed out meanwhile
    // creates nothing.
    if (!this.deps.options.registrationOpen && !this.sessionActive(actor)) {
      throw unauthorized('the session of this access token has ended', 'invalid_token');
    }
    const now = this.deps.clock.now();
    return this.deps.users.create({ email, name, passwordHash, isAdmin: false, now });
  }

  /** Checks a password login (`email` or OAuth2 `username`) and starts a session. */
  async login(fields: Record<string, unknown>, ip: string | null): Promise<TokenPair> {
    const loc = fields.email === undefined ? 'username' : 'email';
    // Lengths first: an over-long value is refused before the limiters keep it as a key.
    const email = checkLoginEmail(fields[loc], ['body', loc]);
    const password = checkLoginPassword(fields.password, ['body', 'password']);
    // A login the hasher has no room for is refused before it spends the address's and the
    // email's attempts; nothing is awaited from here to the hash.
    this.deps.hasher.requireRoom();
    this.limitLogin(email, ip);
    const found = this.deps.users.withHashByEmail(email);
    const ok = await this.deps.hasher.verify(password, found?.passwordHash ?? null);
    if (!ok || found === null) throw unauthorized('incorrect email or password');
    // Read again after the (slow) check: a password changed or an account deleted meanwhile
    // must not start a session with the old password (the change revoked all but its own).
    if (this.deps.users.passwordHashOf(found.user.id) !== found.passwordHash) {
      throw unauthorized('incorrect email or password');
    }
    const started = this.deps.sessions.start(found.user.id, this.now());
    // A session ended to make room: a live socket or an export holding its token stops now.
    if (started.ended > 0) this.deps.accessLost.notify();
    return this.pair(found.user.id, started.sessionId, started.refreshToken);
  }

  /** Rotates a refresh token; a used one revokes its whole family (401 either way). */
  refresh(token: string): TokenPair {
    // Each rotation stores a row until it expires, so rotations are limited per user: only of
    // a live token (a stale one cannot drain the owner's bucket), before it is spent (a 429
    // leaves it usable once the bucket refills).
    const outcome = this.deps.sessions.rotate(token, this.now(), (userId) =>
      takeOrRefuse(this.deps.refreshPerUser, userId, 'token refreshes'),
    );
    switch (outcome.kind) {
      case 'ok':
        return this.pair(outcome.userId, outcome.sessionId, outcome.refreshToken);
      case 'reused':
        this.deps.accessLost.notify(); // the family was revoked
        throw unauthorized('refresh token already used; the session is revoked', 'invalid_token');
      case 'expired':
        throw unauthorized('refresh token expired', 'invalid_token');
      case 'revoked':
        throw unauthorized('the session of this refresh token was revoked', 'invalid_token');
      case 'invalid':
        throw unauthorized('invalid refresh token', 'invalid_token');
    }
  }

  /** Ends the session `principal` signed in with (Umami's logout: its access token's). */
  endSession(principal: Principal): void {
    this.deps.sessions.revoke(principal.sessionId, 'logout', this.now());
    this.deps.accessLost.notify();
  }

  /**
   * POST /auth/logout: ends the session of the refresh token when it names one (a used one, or
   * one of an ended session, too), else that of the bearer access token, which is read only
   * then: an expired access token sent along stops no logout, and a client whose refresh token
   * is unknown (lost, or deleted once expired) still ends the session it holds. Each token
   * names one session, the one its holder signed in to, so nobody else's ends. Idempotent: a
   * token whose session has ended already is answered as at first (a lost answer is retried).
   */
  logout(refreshToken: string | null, accessToken: string | null): void {
    const now = this.now();
    if (refreshToken === null || !this.deps.sessions.revokeByToken(refreshToken, now)) {
      if (accessToken === null) {
        throw unauthorized('no valid refresh or access token to log out', 'invalid_token');
      }
      this.deps.sessions.revoke(this.accessClaims(accessToken).sid, 'logout', now);
    }
    this.deps.accessLost.notify();
  }

  /** The principal of a bearer access token; 401 for anything not valid right now. */
  verifyAccess(token: string): Principal {
    const { sub, sid } = this.accessClaims(token);
    const user = this.deps.users.byId(sub);
    if (user === null || !this.deps.sessions.isActive(sid, sub)) {
      throw unauthorized('the session of this access token has ended', 'invalid_token');
    }
    return { user, sessionId: sid };
  }

  /**
   * Changes name, email or password of the caller. The email and the password take the current
   * password too: a stolen access token alone must not take the account over. Each check is a
   * password guess, so it is rate-limited like a login: per client address and per user.
   */
  async updateMe(principal: Principal, body: unknown, ip: string | null): Promise<User> {
    const fields = requireObject(body);
    const { user } = principal;
    // A null email or password is no change, as a null optional field is absent elsewhere (a
    // null name clears the name: a user may have none).
    const email = fields.email == null ? undefined : checkEmail(fields.email, ['body', 'email']);
    const name = fields.name === undefined ? undefined : checkName(fields.name, ['body', 'name']);
    const password =
      fields.password == null ? undefined : checkPassword(fields.password, ['body', 'password']);
    let checkedHash: string | null = null;
    let passwordHash: string | undefined;
    if (email !== undefined || password !== undefined) {
      const current = checkLoginPassword(fields.current_password, ['body', 'current_password']);
      this.deps.hasher.requireRoom();
      this.limitPasswordCheck(user.id, ip);
      checkedHash = this.deps.users.passwordHashOf(user.id);
      // The check and the new password's hash in one place of the hasher (one wait).
      const checked = await this.deps.hasher.verifyThenHash(current, checkedHash, password);
      if (!checked.ok) throw new AppError('forbidden', 'current_password is not correct');
      passwordHash = checked.hash;
    }
    // Checked again after the (slow) hashing, with nothing awaited before the write: a session
    // ended meanwhile (a password change elsewhere revoked it) changes nothing, and neither
    // does a current_password that stopped being the current one.
    if (!this.sessionActive(principal)) {
      throw unauthorized('the session of this access token has ended', 'invalid_token');
    }
    if (checkedHash !== null && this.deps.users.passwordHashOf(user.id) !== checkedHash) {
      throw new AppError('forbidden', 'current_password is not correct');
    }
    const now = this.now();
    const updated = this.deps.users.update(user.id, { email, name, passwordHash }, now);
    if (updated === null) throw unauthorized('the account no longer exists');
    if (passwordHash !== undefined) {
      this.deps.sessions.revokeOthers(user.id, principal.sessionId, 'password changed', now);
      this.deps.accessLost.notify();
    }
    return updated;
  }

  /**
   * Deletes the caller's account, sessions and memberships; 409 while the caller is the only
   * owner of a project, which would be left with keys nobody can revoke, or the only admin: the
   * next start in `required` mode would make a new admin, who takes over `default`.
   */
  deleteMe(principal: Principal): void {
    const { user } = principal;
    const soleOwned = this.deps.projects.soleOwnedBy(user.id);
    if (soleOwned.length > 0) throw soleOwner(soleOwned);
    if (user.isAdmin && this.deps.users.adminCount() <= 1) throw soleAdmin();
    this.deps.users.delete(user.id);
    this.deps.accessLost.notify();
  }

  /** The claims of a genuine, unexpired access token (its session not checked); 401 else. */
  private accessClaims(token: string): AccessClaims {
    const secretOf = (kid: string) => this.deps.signingKeys.secretOf(kid);
    const check = verifyAccessToken(token, secretOf, this.now());
    if (check.kind === 'invalid') throw unauthorized('invalid access token', 'invalid_token');
    return check.claims;
  }

  private limitLogin(email: string, ip: string | null): void {
    // The address first: a client refused by its own bucket must not touch (or create) the
    // email's, or flooding junk emails would push a victim's bucket out of the bounded table.
    // Then the strict limit of this address for this email, then the email's loose total: a
    // guesser at one address stops at the strict one without draining the owner's total.
    const address = addressKeyOf(ip);
    const byIp = this.deps.loginPerIp.take(address);
    if (!byIp.allowed) throw loginLimited(byIp);
    const byPair = this.deps.loginPerEmailAndIp.take(`${address} ${email}`);
    if (!byPair.allowed) throw loginLimited(byPair);
    const byEmail = this.deps.loginPerEmail.take(email);
    if (!byEmail.allowed) throw loginLimited(byEmail);
  }

  /**
   * Before a current_password check, as for a login: the address, then the strict limit of
   * this user at this address, then the user's loose total. A thief guessing with a stolen
   * token stops at the strict one and cannot lock the owner out of changing the password.
   */
  private limitPasswordCheck(userId: string, ip: string | null): void {
    const address = addressKeyOf(ip);
    const byIp = this.deps.loginPerIp.take(address);
    if (!byIp.allowed) throw passwordCheckLimited(byIp);
    const byPair = this.deps.passwordCheckPerUserAndIp.take(`${address} ${userId}`);
    if (!byPair.allowed) throw passwordCheckLimited(byPair);
    const byUser = this.deps.passwordCheckPerUser.take(userId);
    if (!byUser.allowed) throw passwordCheckLimited(byUser);
  }

  private pair(userId: string, sessionId: string, refreshToken: string): TokenPair {
    const now = this.now();
    const { kid, secret } = this.deps.signingKeys.current();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor((now + this.deps.options.accessTtlMs) / 1000);
    const accessToken = signAccessToken({ sub: userId, sid: sessionId, iat, exp }, kid, secret);
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: exp - iat,
    };
  }

  private sessionActive(principal: Principal | null): boolean {
    return (
      principal !== null && this.deps.sessions.isActive(principal.sessionId, principal.user.id)
    );
  }

  private now(): number {
    return this.deps.clock.now();
  }
}

function emailTaken(): AppError {
  return new AppError('conflict', 'a user with this email already exists');
}

function soleOwner(projectIds: string[]): AppError {
  const named = projectIds.slice(0, PROJECTS_NAMED_MAX).join(', ');
  const more = projectIds.length - PROJECTS_NAMED_MAX;
  const list = more > 0 ? `${named} and ${more} more` : named;
  return new AppError(
    'conflict',
    `you are the only owner of ${list}; make another member an owner of each ` +
      '(POST /api/v1/projects/{id}/members with role owner) before deleting your account',
  );
}

function soleAdmin(): AppError {
  return new AppError(
    'conflict',
    'you are the only admin; without one, the next start in required mode makes a new admin ' +
      'who takes over the default project, so the account is kept',
  );
}

function passwordCheckLimited(decision: RateDecision): AppError {
  return new AppError('rate_limited', 'too many current_password attempts; retry later', {
    retryAfterMs: decision.retryAfterMs,
    headers: rateLimitHeaders(decision),
  });
}

function loginLimited(decision: RateDecision): AppError {
  return new AppError('rate_limited', 'too many login attempts; retry later', {
    retryAfterMs: decision.retryAfterMs,
    headers: rateLimitHeaders(decision),
  });
}
