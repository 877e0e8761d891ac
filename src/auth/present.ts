// The JSON shapes of users, projects, members, invitations, keys and aliases in responses:
// snake_case fields, times in UTC ISO 8601. Secrets never pass through here; a new key's secret is
// added by the one route that shows it once.

import type { Alias } from './aliases.ts';
import type { ApiKey } from './api-keys.ts';
import type { Invitation } from './invitations.ts';
import type { Member, Project, Role } from './projects.ts';
import type { User } from './users.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export function presentUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    is_admin: user.isAdmin,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
  };
}

export function presentProject(project: Project & { role: Role }) {
  return {
    id: project.id,
    tenant: project.id,
    name: project.name,
    role: project.role,
    created_at: iso(project.createdAt),
    retention_days: project.retentionDays,
  };
}

export function presentMember(member: Member) {
  return {
    user_id: member.userId,
    email: member.email,
    name: member.name,
    role: member.role,
    created_at: iso(member.createdAt),
  };
}

/**
 * The answer to changing a member's role: no display name, as it was when this route added
 * people by email (the member list, seen only by members, shows names).
 */
export function presentAddedMember(member: Member) {
  return {
    user_id: member.userId,
    email: member.email,
    role: member.role,
    created_at: iso(member.createdAt),
  };
}

export function presentKey(key: ApiKey) {
  return {
    id: key.id,
    prefix: key.id,
    project_id: key.projectId,
    kind: key.kind,
    name: key.name,
    allowed_origins: key.allowedOrigins,
    created_at: iso(key.createdAt),
    revoked_at: key.revokedAt === null ? null : iso(key.revokedAt),
  };
}

export function presentAlias(alias: Alias) {
  return {
    alias: alias.alias,
    kind: alias.kind,
    project_id: alias.projectId,
    created_at: iso(alias.createdAt),
  };
}

/** An invitation without its token (the one route that makes it adds the token once). */
export function presentInvitation(invitation: Invitation) {
  return {
    id: invitation.id,
    project_id: invitation.projectId,
    email: invitation.email,
    role: invitation.role,
    invited_by: invitation.invitedBy,
    created_at: iso(invitation.createdAt),
    expires_at: iso(invitation.expiresAt),
  };
}
