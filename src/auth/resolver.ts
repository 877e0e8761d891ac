// The tenant resolver of AUTH_MODE=required. Ingest takes a write key (or, with no key at all,
// a registered site alias, as browser beacons of Plausible and Umami send) and writes only to
// its project; reads take a member's JWT or the project's read key. Keys are checked against
// SQLite on every request, so a revoked key stops working at once. Keys are rate-limited per
// project (all of a project's keys of a kind share a bucket), users per user.

import {
  AppError,
  DEFAULT_TENANT,
  type IngestCredentials,
  type TenantResolver,
} from '../core/index.ts';
import { type AccountService, unauthorized } from './accounts.ts';
import type { AliasStore } from './aliases.ts';
import type { ApiKey, ApiKeyStore } from './api-keys.ts';
import { ingestCredentialOf, readCredentialOf } from './credentials.ts';
import type { ProjectStore } from './projects.ts';
import { type RateDecision, rateLimitHeaders, type TokenBucketLimiter } from './rate-limit.ts';

export interface TenancyDeps {
  accounts: AccountService;
  keys: ApiKeyStore;
  aliases: AliasStore;
  projects: ProjectStore;
  writeLimiter: TokenBucketLimiter;
  readLimiter: TokenBucketLimiter;
}

type HeaderSink = Record<string, unknown>;

export class RequiredTenancy implements TenantResolver {
  private readonly sinks = new WeakMap<Request, HeaderSink>();
  /** The decision a request's X-RateLimit-* headers show (show()). */
  private readonly shown = new WeakMap<Request, RateDecision>();

  constructor(private readonly deps: TenancyDeps) {}

  /** Where X-RateLimit-* headers of a request go (the response's header record). */
  attachHeaders(request: Request, headers: HeaderSink): void {
    this.sinks.set(request, headers);
  }

  forIngest(
    request: Request,
    credentials?: IngestCredentials,
  ): (claimed: string | undefined) => string {
    const credential = ingestCredentialOf(request, credentials?.key);
    if (credential === null) return this.keyless(request, credentials?.rateLimited !== false);
    if (credential.kind === 'read_key') {
      throw new AppError('forbidden', 'a read key cannot ingest; send a write key (wk_…)');
    }
    if (credential.kind === 'jwt') throw this.notAWriteKey(credential.value);
    const key = this.deps.keys.verify(credential.value, 'write');
    if (key === null) throw unauthorized('unknown or revoked write key', 'invalid_token');
    requireOrigin(request, key);
    // Per project, not per key: minting keys adds no quota.
    if (credentials?.rateLimited !== false) {
      this.limit(request, this.deps.writeLimiter, `project:${key.projectId}`);
    }
    const tenant = key.projectId;
    const accepted = new Set<string>([tenant]);
    return (claimed) => {
      if (claimed === undefined || accepted.has(claimed)) return tenant;
      if (this.deps.aliases.projectOf(claimed) !== tenant) {
        throw new AppError('forbidden', `this write key writes to ${tenant}, not to ${claimed}`);
      }
      accepted.add(claimed);
      return tenant;
    };
  }

  forRead(
    request: Request,
    query: Record<string, string | undefined>,
    options: { rateLimited?: boolean } = {},
  ): string {
    const limited = options.rateLimited !== false;
    const credential = readCredentialOf(request);
    if (credential === null) {
      throw unauthorized('reads need a bearer token: a JWT or a read key (rk_…)');
    }
    const claimed =
      query.tenant_id ?? new URL(request.url).searchParams.get('tenant_id') ?? undefined;
    switch (credential.kind) {
      case 'write_key':
        throw new AppError('forbidden', 'a write key cannot read; use a read key or sign in');
      case 'read_key': {
        const key = this.deps.keys.verify(credential.value, 'read');
        if (key === null) throw unauthorized('unknown or revoked read key', 'invalid_token');
        if (limited) this.limit(request, this.deps.readLimiter, `project:${key.projectId}`);
        if (claimed !== undefined && this.tenantNamed(claimed) !== key.projectId) {
          throw noAccess(claimed);
        }
        return key.projectId;
      }
      case 'jwt': {
        const principal = this.deps.accounts.verifyAccess(credential.value);
        const userId = principal.user.id;
        if (limited) this.limit(request, this.deps.readLimiter, `user:${userId}`);
        const tenant =
          claimed === undefined ? this.defaultProjectOf(userId) : this.tenantNamed(claimed);
        if (tenant === null || this.deps.projects.roleOf(tenant, userId) === null) {
          throw noAccess(claimed ?? DEFAULT_TENANT);
        }
        return tenant;
      }
    }
  }

  /**
   * The refusal of a read of a name that is no project's (nor an alias of the kind a route
   * reads), after the checks and the rate charge forRead makes for a name of another project:
   * the same 401/403/429 and X-RateLimit-* either way, so no answer tells whether it exists.
   */
  unknownRefusal(request: Request): AppError {
    try {
      // No project or alias is named '' (TENANT_PATTERN): forRead refuses it once charged.
      this.forRead(request, { tenant_id: '' });
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    return noAccess('');
  }

  /**
   * Ingest without a key: only names registered as a project's alias are accepted; each
   * project's alias rate is spent once a request, unless `limited` is false (it writes nothing):
   * once per project, not per name, so two aliases of one project (a Plausible list naming
   * both) cost it one request, as they would with its write key.
   */
  private keyless(request: Request, limited: boolean): (claimed: string | undefined) => string {
    const resolved = new Map<string, string>();
    // Per project: its rate's refusal, or undefined once the request was charged.
    const decided = new Map<string, AppError | undefined>();
    return (claimed) => {
      if (claimed === undefined) {
        throw unauthorized('ingest needs a write key (Authorization: Bearer wk_… or X-Tally-Key)');
      }
      const known = resolved.get(claimed);
      if (known !== undefined) return known;
      const tenant = this.deps.aliases.projectOf(claimed);
      if (tenant === null) {
        throw new AppError(
          'forbidden',
          `${claimed} is not a registered site alias; send a write key to ingest`,
        );
      }
      if (limited) {
        if (!decided.has(tenant)) {
          decided.set(tenant, this.refusalOf(request, this.deps.writeLimiter, `alias:${tenant}`));
        }
        const refusal = decided.get(tenant);
        if (refusal !== undefined) throw refusal;
      }
      resolved.set(claimed, tenant);
      return tenant;
    };
  }

  /**
   * The refusal of an ingest credential that is no key: a valid access token is a credential
   * of the wrong kind, 403 as a read key is; anything else is unknown, 401 with a challenge.
   */
  private notAWriteKey(value: string): AppError {
    try {
      this.deps.accounts.verifyAccess(value);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return unauthorized('ingest needs a write key (wk_…)');
    }
    return new AppError('forbidden', 'an access token cannot ingest; send a write key (wk_…)');
  }

  /** The project a name means: a project id, or the project owning that alias. */
  private tenantNamed(name: string): string | null {
    return this.deps.projects.get(name) !== null ? name : this.deps.aliases.projectOf(name);
  }

  /** With no tenant_id: `default` if the user is a member of it, else their only project. */
  private defaultProjectOf(userId: string): string | null {
    if (this.deps.projects.roleOf(DEFAULT_TENANT, userId) !== null) return DEFAULT_TENANT;
    const mine = this.deps.projects.listFor(userId);
    if (mine.length > 1) {
      throw new AppError('bad_request', 'you are a member of several projects; pass tenant_id');
    }
    return mine[0]?.id ?? null;
  }

  private limit(request: Request, limiter: TokenBucketLimiter, key: string): void {
    const refusal = this.refusalOf(request, limiter, key);
    if (refusal !== undefined) throw refusal;
  }

  /** Takes one request of `key`'s bucket: its 429 when the bucket is empty, else undefined. */
  private refusalOf(
    request: Request,
    limiter: TokenBucketLimiter,
    key: string,
  ): AppError | undefined {
    const decision = limiter.take(key);
    this.show(request, decision);
    if (decision.allowed) return undefined;
    return new AppError('rate_limited', 'rate limit reached; retry later', {
      retryAfterMs: decision.retryAfterMs,
      headers: rateLimitHeaders(decision),
    });
  }

  /**
   * Sets the request's X-RateLimit-* to what it was charged. A keyless beacon naming sites of
   * several projects spends several buckets: the headers show the one with the least remaining
   * (the one to refuse it first), never the bucket of a site left out for its rate, which took
   * nothing; a bucket's refusal is shown only when no bucket was charged (the first refusal).
   */
  private show(request: Request, decision: RateDecision): void {
    const sink = this.sinks.get(request);
    if (sink === undefined) return;
    const shown = this.shown.get(request);
    if (shown !== undefined && !tighter(decision, shown)) return;
    this.shown.set(request, decision);
    Object.assign(sink, rateLimitHeaders(decision));
  }
}

/** Whether `next` is to be shown over `shown`: charged over refused, then less remaining. */
function tighter(next: RateDecision, shown: RateDecision): boolean {
  if (next.allowed !== shown.allowed) return next.allowed;
  if (!next.allowed) return false;
  if (next.remaining !== shown.remaining) return next.remaining < shown.remaining;
  return next.resetMs > shown.resetMs;
}

/** A write key bound to origins is refused from any other origin (or none). */
function requireOrigin(request: Request, key: ApiKey): void {
  if (key.allowedOrigins === null) return;
  const origin = request.headers.get('origin');
  if (origin === null || !key.allowedOrigins.includes(origin)) {
    throw new AppError('forbidden', 'this write key is not allowed from this origin');
  }
}

function noAccess(tenant: string): AppError {
  return new AppError('forbidden', `these credentials may not read tenant ${tenant}`);
}
