// Builds the auth module over the SQLite store: the stores, the account, project and
// invitation services, the rate limiters and the required-mode tenant resolver. main.ts calls
// this once; tests call it with a ManualClock and small limits.

import type { Database } from 'bun:sqlite';
import type { Clock } from '../core/index.ts';
import { AccessLost } from './access-lost.ts';
import { AccountService, type Principal, unauthorized } from './accounts.ts';
import { AliasStore } from './aliases.ts';
import { ApiKeyStore } from './api-keys.ts';
import { bearerOf } from './credentials.ts';
import { InvitationService } from './invitation-service.ts';
import { InvitationStore } from './invitations.ts';
import { type AuthOptions, type ResolvedAuthOptions, resolveAuthOptions } from './options.ts';
import { PasswordHasher } from './passwords.ts';
import { ProjectService } from './project-service.ts';
import { ProjectStore } from './projects.ts';
import { TokenBucketLimiter, type WhenFull } from './rate-limit.ts';
import { RequiredTenancy } from './resolver.ts';
import { SessionStore } from './sessions.ts';
import { SigningKeyRing } from './signing-keys.ts';
import type { TenantHoldsEvents } from './stored-events.ts';
import { UserStore } from './users.ts';

export interface AuthDeps {
  /** The migrated tally.sqlite connection (`engine.store.sqlite` in main.ts). */
  db: Database;
  clock: Clock;
  options?: Partial<AuthOptions>;
  /**
   * Whether a tenant already holds stored events (main.ts: `storedEventsProbe(engine.store)`).
   * Only an admin may create a project over such a tenant.
   */
  tenantHoldsEvents: TenantHoldsEvents;
}

export interface Auth {
  options: ResolvedAuthOptions;
  accounts: AccountService;
  projects: ProjectService;
  invitations: InvitationService;
  /** The resolver of AUTH_MODE=required. */
  tenancy: RequiredTenancy;
  /** Told when a key, session or membership stops granting access (the live hub listens). */
  accessLost: AccessLost;
  stores: {
    users: UserStore;
    projects: ProjectStore;
    keys: ApiKeyStore;
    aliases: AliasStore;
    sessions: SessionStore;
    invitations: InvitationStore;
  };
  signingKeys: SigningKeyRing;
  hasher: PasswordHasher;
  clock: Clock;
  /** The signed-in user of a request (Authorization: Bearer <JWT>); 401 otherwise. */
  authenticate(request: Request): Principal;
  /**
   * Like authenticate, but null when the request carries no bearer token: no Authorization
   * header, or one of another scheme (a proxy's Basic credentials, passed on), as bearerOf
   * ignores every other scheme. A bearer token that is no valid access token is still 401.
   */
  optionalPrincipal(request: Request): Principal | null;
  /** Runs `work` in one SQLite transaction (nested calls become savepoints). */
  transaction<T>(work: () => T): T;
  /** Deletes expired refresh tokens and finished sessions; call it from a timer. */
  purgeExpired(): void;
}

/** An Authorization header of the Bearer scheme (RFC 6750), whatever follows it. */
const BEARER_SCHEME = /^bearer(\s|$)/i;

export function createAuth(deps: AuthDeps): Auth {
  const options = resolveAuthOptions(deps.options);
  const { db, clock } = deps;
  // Full of debts, the limits against guessing and abuse refuse a new key (forgetting a debt
  // would hand out a fresh burst); tenants' traffic forgets the oldest debt instead, and so do
  // the per-address-and-account limits: a new address gets a fresh one anyway, while their
  // keys cost no hash (an attempt the account's total refuses still makes one), so refusing
  // would let a few thousand requests a second refuse every login from a new address.
  const limiter = (spec: AuthOptions['rates']['read'], whenFull: WhenFull = 'refuse') =>
    new TokenBucketLimiter(spec, clock, options.rateKeysMax, whenFull);
  const projects = new ProjectStore(db);
  const stores = {
    users: new UserStore(db),
    projects,
    keys: new ApiKeyStore(db),
    aliases: new AliasStore(db),
    sessions: new SessionStore(db, options.refreshTtlMs),
    invitations: new InvitationStore(db, projects),
  };
  const signingKeys = new SigningKeyRing(db, clock, {
    rotateAfterMs: options.signingKeyRotateMs,
    accessTtlMs: options.accessTtlMs,
  });
  const hasher = new PasswordHasher(options.passwordCost, options.passwordHashes);
  const accessLost = new AccessLost();
  const accounts = new AccountService({
    ...stores,
    accessLost,
    signingKeys,
    hasher,
    clock,
    options,
    loginPerEmailAndIp: limiter(options.rates.loginEmail, 'forget'),
    loginPerEmail: limiter(options.rates.loginEmailTotal),
    loginPerIp: limiter(options.rates.loginIp),
    registerPerIp: limiter(options.rates.registerIp),
    passwordCheckPerUserAndIp: limiter(options.rates.passwordCheckUserIp, 'forget'),
    passwordCheckPerUser: limiter(options.rates.passwordCheckUser),
    refreshPerUser: limiter(options.rates.refreshUser),
  });
  const tenancy = new RequiredTenancy({
    accounts,
    keys: stores.keys,
    aliases: stores.aliases,
    projects: stores.projects,
    writeLimiter: limiter(options.rates.write, 'forget'),
    readLimiter: limiter(options.rates.read, 'forget'),
  });
  const authenticate = (request: Request) => {
    const token = bearerOf(request);
    if (token === null) throw unauthorized('sign in: send Authorization: Bearer <access token>');
    return accounts.verifyAccess(token);
  };
  // One bucket per caller for invitations and role changes: each is about someone's address.
  const memberAddPerUser = limiter(options.rates.memberAdd);
  return {
    options,
    accounts,
    projects: new ProjectService({
      ...stores,
      accessLost,
      clock,
      memberAddPerUser,
      projectCreatePerUser: limiter(options.rates.projectCreate),
      aliasAddPerUser: limiter(options.rates.projectCreate),
      bounds: options.bounds,
      tenantHoldsEvents: deps.tenantHoldsEvents,
    }),
    invitations: new InvitationService({
      invitations: stores.invitations,
      projects,
      clock,
      memberAddPerUser,
      bounds: options.bounds,
      invitationTtlMs: options.invitationTtlMs,
    }),
    tenancy,
    accessLost,
    stores,
    signingKeys,
    hasher,
    clock,
    authenticate,
    optionalPrincipal: (request) =>
      BEARER_SCHEME.test(request.headers.get('authorization') ?? '') ? authenticate(request) : null,
    transaction: (work) => db.transaction(work)(),
    purgeExpired: () => stores.sessions.purge(clock.now()),
  };
}
