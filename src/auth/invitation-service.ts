// Who may invite whom to a project, and accepting an invitation. Owners invite any email
// address (whether or not an account has it: the answer is the same, so it tells nothing about
// who has signed up), list and revoke the pending invitations; the signed-in account whose
// email is the invitation's accepts it and becomes a member. Nobody is added without consent.

import { AppError, type Clock } from '../core/index.ts';
import { type Principal, unauthorized } from './accounts.ts';
import type { ProjectBounds } from './bounds.ts';
import type { Invitation, InvitationStore } from './invitations.ts';
import { requireRole } from './project-service.ts';
import { type Project, type ProjectStore, ROLES, type Role } from './projects.ts';
import { type TokenBucketLimiter, takeOrRefuse } from './rate-limit.ts';
import { checkEmail, oneOf, requireObject, requireString } from './validate.ts';

export interface InvitationDeps {
  invitations: InvitationStore;
  projects: ProjectStore;
  clock: Clock;
  /** Shared with the member route: invitations and role changes per caller. */
  memberAddPerUser: TokenBucketLimiter;
  bounds: ProjectBounds;
  /** How long an invitation can be accepted. */
  invitationTtlMs: number;
}

export class InvitationService {
  constructor(private readonly deps: InvitationDeps) {}

  /**
   * Invites an email address (owners): the token is in the answer only. Re-inviting a pending
   * address replaces its invitation (the old token stops working); a member's address is 409.
   * Limited per caller, as member role changes are.
   */
  invite(
    principal: Principal,
    projectId: string,
    body: unknown,
  ): { token: string; info: Invitation } {
    requireRole(this.deps.projects, principal, projectId, 'owner');
    const fields = requireObject(body);
    const email = checkEmail(fields.email, ['body', 'email']);
    const role = oneOf(fields.role ?? 'viewer', ROLES, ['body', 'role']);
    takeOrRefuse(this.deps.memberAddPerUser, principal.user.id, 'invitations and role changes');
    const now = this.deps.clock.now();
    const input = {
      projectId,
      email,
      role,
      invitedBy: principal.user.id,
      now,
      expiresAt: now + this.deps.invitationTtlMs,
    };
    return this.deps.invitations.create(input, this.deps.bounds.invitationsPerProjectMax);
  }

  /** The pending invitations of a project, without their tokens (owners). */
  list(principal: Principal, projectId: string): Invitation[] {
    requireRole(this.deps.projects, principal, projectId, 'owner');
    return this.deps.invitations.pending(projectId, this.deps.clock.now());
  }

  /** Revokes an invitation of the project (owners): its token stops working at once. */
  revoke(principal: Principal, projectId: string, invitationId: string): void {
    requireRole(this.deps.projects, principal, projectId, 'owner');
    if (!this.deps.invitations.revoke(projectId, invitationId)) {
      throw new AppError('not_found', `no invitation ${invitationId} in project ${projectId}`);
    }
  }

  /**
   * Accepts an invitation for the caller: the caller's account email must be the invited one
   * (403, naming nobody), and the invitation pending (404 unknown, accepted, revoked or
   * replaced; 410 expired). The membership is made within the project's bounds.
   */
  accept(principal: Principal, body: unknown): Project & { role: Role } {
    const fields = requireObject(body);
    const token = requireString(fields.token, ['body', 'token']);
    const now = this.deps.clock.now();
    const outcome = this.deps.invitations.accept(token, principal.user.id, now, this.deps.bounds);
    switch (outcome.kind) {
      case 'accepted':
        return { ...(this.deps.projects.get(outcome.projectId) as Project), role: outcome.role };
      case 'no_account':
        throw unauthorized('the account no longer exists', 'invalid_token');
      case 'unknown':
        throw new AppError(
          'not_found',
          'no pending invitation has this token: it was accepted, revoked (as it is when its ' +
            'inviter stops being an owner) or replaced by a newer one, or never existed; ask a ' +
            'project owner for a new invitation',
        );
      case 'other_email':
        throw new AppError(
          'forbidden',
          'this invitation is for another email address; sign in with the account it was ' +
            'sent to',
        );
      case 'expired':
        throw new AppError(
          'gone',
          'this invitation has expired; ask a project owner for a new invitation',
        );
      case 'member':
        throw new AppError('conflict', `you are already a member of ${outcome.projectId}`);
    }
  }
}
