// Who may do what to a project: any signed-in user creates projects (and owns them), within
// the named bounds (bounds.ts) and a rate per user, except over a tenant id that already holds
// events (only an admin may claim those, as a project id or as an alias); members see a
// project, its members, key prefixes and aliases; only owners change members' roles, keys and
// aliases, and delete the project (as an admin may). People join by invitation only
// (invitation-service.ts). A project the caller is not a member of is answered as absent
// (404), to an admin too: an admin who is no member may only delete it or erase from it
// (requireDeletable).

import { randomBytes } from 'node:crypto';
import { AppError, type Clock } from '../core/index.ts';
import type { AccessLost } from './access-lost.ts';
import { type Principal, unauthorized } from './accounts.ts';
import { ALIAS_KINDS, type Alias, type AliasKind, type AliasStore } from './aliases.ts';
import { type ApiKey, type ApiKeyStore, KEY_KINDS } from './api-keys.ts';
import type { ProjectBounds } from './bounds.ts';
import {
  type Member,
  type Project,
  type ProjectChange,
  type ProjectStore,
  ROLES,
  type Role,
} from './projects.ts';
import { type TokenBucketLimiter, takeOrRefuse } from './rate-limit.ts';
import type { SessionStore } from './sessions.ts';
import type { TenantHoldsEvents } from './stored-events.ts';
import type { UserStore } from './users.ts';
import {
  checkEmail,
  checkName,
  checkOrigins,
  checkRetentionDays,
  checkTenantId,
  oneOf,
  requireObject,
} from './validate.ts';

export interface ProjectDeps {
  projects: ProjectStore;
  keys: ApiKeyStore;
  aliases: AliasStore;
  users: UserStore;
  /** A caller's session is checked again after the tenant probe (which may wait). */
  sessions: SessionStore;
  clock: Clock;
  /** Invitations and role changes by email per caller (shared with InvitationService). */
  memberAddPerUser: TokenBucketLimiter;
  /** Projects created per caller (admins exempt): each is a tenant with its own shares. */
  projectCreatePerUser: TokenBucketLimiter;
  /**
   * Aliases added per caller (admins exempt): each runs the tenant probe, as a create does
   * (a bucket of its own, at the same rate).
   */
  aliasAddPerUser: TokenBucketLimiter;
  /** Checked by the stores in the transaction that inserts, so concurrent creates cannot pass. */
  bounds: ProjectBounds;
  tenantHoldsEvents: TenantHoldsEvents;
  /** Told when a member is removed or a key revoked (live sockets are checked at once). */
  accessLost: AccessLost;
}

const SLUG_CHARS_MAX = 48;
/** Random bytes of the suffix that makes a slug free (hex: twice as many characters). */
const SLUG_SUFFIX_BYTES = 3;
/** Slugs a create from a name tries before giving up (each later one has a random suffix). */
const SLUG_ATTEMPTS_MAX = 5;

export class ProjectService {
  constructor(private readonly deps: ProjectDeps) {}

  /**
   * Creates a project owned by the caller; its id is given or derived from its name. A given
   * id whose tenant already holds events is refused (409) unless the caller is an admin; a
   * derived one moves on to another free slug, as it does when a concurrent create took its
   * slug while the tenant was being looked up. Rate-limited per caller (admins exempt), and
   * refused (409) once the caller owns `projectsPerUserMax` projects (admins too).
   */
  async create(principal: Principal, body: unknown): Promise<Project & { role: Role }> {
    const fields = requireObject(body);
    const name = checkName(fields.name, ['body', 'name']);
    if (name === null) {
      throw fields.name === undefined || fields.name === null ? missing('name') : emptyName();
    }
    const claims = !principal.user.isAdmin;
    // A null id is none (derived from the name), as a null optional field is absent elsewhere.
    const givenId =
      fields.id === undefined || fields.id === null
        ? null
        : checkTenantId(fields.id, ['body', 'id']);
    const retentionDays =
      fields.retention_days === undefined
        ? null
        : checkRetentionDays(fields.retention_days, ['body', 'retention_days']);
    if (claims) this.takeProjectCreate(principal);
    const now = this.deps.clock.now();
    // After the probe, with nothing awaited before the insert (as for the alias below). A
    // session ended meanwhile creates nothing and is refused: the token goes back, as no
    // project was made (the probe's own 409 keeps it: the rate bounds the probes too).
    const insert = (id: string) => {
      if (!this.sessionActive(principal)) {
        if (claims) this.deps.projectCreatePerUser.giveBack(principal.user.id);
        throw sessionEnded();
      }
      const { projectsPerUserMax } = this.deps.bounds;
      const owner = principal.user.id;
      const project = this.deps.projects.create(
        id,
        name,
        owner,
        now,
        projectsPerUserMax,
        retentionDays,
      );
      return { ...project, role: 'owner' as const };
    };
    if (givenId !== null) {
      if (claims && (await this.holdsEvents(givenId))) throw tenantHoldsEvents(givenId, 'project');
      return insert(givenId);
    }
    for (let attempt = 1; ; attempt++) {
      const id = this.freeSlug(name, attempt > 1);
      if (claims && (await this.holdsEvents(id))) continue;
      try {
        return insert(id);
      } catch (error) {
        const taken = error instanceof AppError && error.code === 'conflict';
        if (!taken || attempt >= SLUG_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** One token of the caller's project-creation bucket; 429 when it is empty. */
  private takeProjectCreate(principal: Principal): void {
    takeOrRefuse(this.deps.projectCreatePerUser, principal.user.id, 'projects created');
  }

  /** Whether the tenant `id` holds stored events (the probe may answer synchronously). */
  private async holdsEvents(id: string): Promise<boolean> {
    const held = this.deps.tenantHoldsEvents(id);
    return typeof held === 'boolean' ? held : await held;
  }

  list(principal: Principal): (Project & { role: Role })[] {
    return this.deps.projects.listFor(principal.user.id);
  }

  get(principal: Principal, id: string): Project & { role: Role } {
    const role = this.require(principal, id, 'viewer');
    return { ...(this.deps.projects.get(id) as Project), role };
  }

  /**
   * Changes a project's name or retention (owners): fields absent from the body stay as they
   * are; `retention_days: null` follows the server's RETENTION_DAYS again.
   */
  update(principal: Principal, id: string, body: unknown): Project & { role: Role } {
    const role = this.require(principal, id, 'owner');
    const fields = requireObject(body);
    const change: ProjectChange = {};
    if (fields.name !== undefined) {
      const name = checkName(fields.name, ['body', 'name']);
      if (name === null) throw fields.name === null ? missing('name') : emptyName();
      change.name = name;
    }
    if (fields.retention_days !== undefined) {
      change.retentionDays = checkRetentionDays(fields.retention_days, ['body', 'retention_days']);
    }
    if (!this.deps.projects.update(id, change)) throw new AppError('not_found', `no project ${id}`);
    return { ...(this.deps.projects.get(id) as Project), role };
  }

  /**
   * The days of events project `id` keeps (0: forever); null when it follows the server's
   * RETENTION_DAYS, or there is no such project (a tenant of AUTH_MODE=open).
   */
  retentionDaysOf(id: string): number | null {
    return this.deps.projects.get(id)?.retentionDays ?? null;
  }

  members(principal: Principal, id: string): Member[] {
    this.require(principal, id, 'viewer');
    return this.deps.projects.members(id);
  }

  /**
   * Checks that the caller may delete project `id`: an owner of it, or an admin (a member or
   * not). 404 when there is no such project (or, to others, when they are no member), 403 for
   * a viewer. Checked before the deletion waits for the tenant's writes, and again in `delete`.
   */
  requireDeletable(principal: Principal, id: string): void {
    if (!principal.user.isAdmin) this.require(principal, id, 'owner');
    else if (this.deps.projects.get(id) === null)
      throw new AppError('not_found', `no project ${id}`);
  }

  /**
   * Deletes project `id` with its members (their room under PROJECTS_PER_USER_MAX is free
   * again), keys (they stop working at once) and aliases (free to be taken again), running
   * `alongside` (the tenant's tombstone) in the same transaction; throws, deleting nothing,
   * when the caller may not (any more) or the project is gone.
   */
  delete(principal: Principal, id: string, alongside: () => void): void {
    this.requireDeletable(principal, id);
    if (!this.deps.projects.remove(id, alongside)) {
      throw new AppError('not_found', `no project ${id}`);
    }
  }

  /**
   * Changes a member's role, the member found by email (owners). An address that is no
   * member's is 404 pointing to invitations, the same whether or not an account has it:
   * people join a project only by accepting an invitation. Limited per caller, together with
   * invitations.
   */
  setMember(principal: Principal, id: string, body: unknown): Member {
    this.require(principal, id, 'owner');
    const fields = requireObject(body);
    const email = checkEmail(fields.email, ['body', 'email']);
    // The role is required: a change that named none once made an owner a viewer.
    const role = oneOf(fields.role, ROLES, ['body', 'role']);
    takeOrRefuse(this.deps.memberAddPerUser, principal.user.id, 'invitations and role changes');
    const userId = this.deps.users.withHashByEmail(email)?.user.id ?? null;
    if (userId === null || !this.deps.projects.changeRole(id, userId, role, this.deps.bounds)) {
      throw new AppError(
        'not_found',
        `${email} is not a member of ${id}; invite them with ` +
          `POST /api/v1/projects/${id}/invitations (they join when they accept)`,
      );
    }
    return this.deps.projects.members(id).find((m) => m.userId === userId) as Member;
  }

  /** Owners remove anyone; a member may remove themself. */
  removeMember(principal: Principal, id: string, userId: string): void {
    this.require(principal, id, userId === principal.user.id ? 'viewer' : 'owner');
    if (!this.deps.projects.removeMember(id, userId)) {
      throw new AppError('not_found', `user ${userId} is not a member of ${id}`);
    }
    this.deps.accessLost.notify();
  }

  createKey(principal: Principal, id: string, body: unknown): { key: string; info: ApiKey } {
    this.require(principal, id, 'owner');
    const fields = requireObject(body ?? {});
    const kind = oneOf(fields.kind, KEY_KINDS, ['body', 'kind']);
    const name = checkName(fields.name, ['body', 'name']);
    const allowedOrigins = checkOrigins(fields.allowed_origins, ['body', 'allowed_origins']);
    if (kind === 'read' && allowedOrigins !== null) {
      throw AppError.validation([
        {
          loc: ['body', 'allowed_origins'],
          msg: 'only write keys are bound to origins; a read key is a secret for servers',
          type: 'value_error',
        },
      ]);
    }
    const now = this.deps.clock.now();
    const input = { projectId: id, kind, name, allowedOrigins, now };
    return this.deps.keys.create(input, this.deps.bounds.keysPerProjectMax);
  }

  listKeys(principal: Principal, id: string): ApiKey[] {
    this.require(principal, id, 'viewer');
    return this.deps.keys.list(id);
  }

  revokeKey(principal: Principal, id: string, keyId: string): void {
    this.require(principal, id, 'owner');
    if (!this.deps.keys.revoke(id, keyId, this.deps.clock.now())) {
      throw new AppError('not_found', `no key ${keyId} in project ${id}`);
    }
    this.deps.accessLost.notify();
  }

  /**
   * Registers an alias of a project. An alias takes the later events naming it (keyless ones
   * too), as a project id does: over a tenant that holds events, only an admin may add it.
   * Rate-limited per caller (admins exempt), before the tenant probe: each probe is a read of
   * the store, and a loop of adds (of names refused afterwards too) must not be unbounded.
   */
  async addAlias(principal: Principal, id: string, body: unknown): Promise<Alias> {
    this.require(principal, id, 'owner');
    const fields = requireObject(body);
    const alias = checkTenantId(fields.alias, ['body', 'alias']);
    const kind: AliasKind = oneOf(fields.kind ?? 'tenant_id', ALIAS_KINDS, ['body', 'kind']);
    const claims = !principal.user.isAdmin;
    if (claims) takeOrRefuse(this.deps.aliasAddPerUser, principal.user.id, 'aliases added');
    if (claims && (await this.holdsEvents(alias))) throw tenantHoldsEvents(alias, 'alias');
    // Again after the probe, with nothing awaited before the insert: the caller may have been
    // signed out, demoted or removed, or the project deleted, while it ran. Such a refusal
    // adds nothing and gives the token back (the probe's own 409 keeps it, as a create's).
    try {
      this.requireSession(principal);
      this.require(principal, id, 'owner');
    } catch (error) {
      if (claims) this.deps.aliasAddPerUser.giveBack(principal.user.id);
      throw error;
    }
    const max = this.deps.bounds.aliasesPerProjectMax;
    return this.deps.aliases.add(id, alias, kind, this.deps.clock.now(), max);
  }

  listAliases(principal: Principal, id: string): Alias[] {
    this.require(principal, id, 'viewer');
    return this.deps.aliases.list(id);
  }

  removeAlias(principal: Principal, id: string, alias: string): void {
    this.require(principal, id, 'owner');
    if (!this.deps.aliases.remove(id, alias)) {
      throw new AppError('not_found', `project ${id} has no alias ${alias}`);
    }
  }

  /**
   * 401 when the caller's session ended (a logout, a new password set elsewhere, the account
   * deleted) since the request was authenticated: checked after the tenant probe, which may
   * wait, so an ended session writes nothing.
   */
  private requireSession(principal: Principal): void {
    if (!this.sessionActive(principal)) throw sessionEnded();
  }

  private sessionActive(principal: Principal): boolean {
    return this.deps.sessions.isActive(principal.sessionId, principal.user.id);
  }

  /** The caller's role in `id` if it is at least `min`; 404 for non-members, 403 for viewers. */
  private require(principal: Principal, id: string, min: Role): Role {
    return requireRole(this.deps.projects, principal, id, min);
  }

  /** A slug of `name` no project or alias has; `suffixed`: never the bare slug. */
  private freeSlug(name: string, suffixed = false): string {
    const base =
      name
        .toLowerCase()
        .normalize('NFKD')
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^[^a-z0-9]+|-+$/g, '')
        .slice(0, SLUG_CHARS_MAX) || 'project';
    const suffixOf = () => `${base}-${randomBytes(SLUG_SUFFIX_BYTES).toString('hex')}`;
    let slug = suffixed ? suffixOf() : base;
    while (this.deps.projects.get(slug) !== null || this.deps.aliases.projectOf(slug) !== null) {
      slug = suffixOf();
    }
    return slug;
  }
}

/** The caller's role in `id` if it is at least `min`; 404 for non-members, 403 for viewers. */
export function requireRole(
  projects: ProjectStore,
  principal: Principal,
  id: string,
  min: Role,
): Role {
  const role = projects.roleOf(id, principal.user.id);
  if (role === null) throw new AppError('not_found', `no project ${id}`);
  if (min === 'owner' && role !== 'owner') {
    throw new AppError('forbidden', `only an owner of ${id} may do this`);
  }
  return role;
}

function tenantHoldsEvents(id: string, as: 'project' | 'alias'): AppError {
  const choose =
    as === 'project'
      ? 'another id, or ask an admin to create this project'
      : 'another alias, or ask an admin to add this alias';
  return new AppError(
    'conflict',
    `the tenant ${id} already holds events; choose ${choose} (an admin may claim a tenant ` +
      'that holds events)',
  );
}

/** A name of only spaces is empty too: checkName trims it. */
function emptyName(): AppError {
  return AppError.validation([
    { loc: ['body', 'name'], msg: 'name must not be empty', type: 'string_too_short' },
  ]);
}

function missing(field: string): AppError {
  return AppError.validation([
    { loc: ['body', field], msg: `${field} is required`, type: 'missing' },
  ]);
}

function sessionEnded(): AppError {
  return unauthorized('the session of this access token has ended', 'invalid_token');
}
