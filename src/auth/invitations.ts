// Invitations to join a project, in SQLite. An invitation names an email address and a role;
// its token (`iv_…`) is shown once to the inviter, stored as its SHA-256 hash, and becomes a
// membership when the account with that address accepts it. Accepting or revoking deletes it,
// and so does inviting the same address again (the new one replaces it), so a token works once.
// It lasts only while its inviter is an owner of the project: triggers (migration 007) delete
// it when they step down, leave or delete their account.

import type { Database } from 'bun:sqlite';
import { AppError } from '../core/index.ts';
import { boundReached, type ProjectBounds } from './bounds.ts';
import type { ProjectStore, Role } from './projects.ts';
import { newSecret, secretIdOf, secretMatches } from './secrets.ts';

export interface Invitation {
  /** The public start of the token, e.g. `iv_3fK9c0Qx_a1B`; the rest is never stored. */
  id: string;
  projectId: string;
  /** The invitee's address, lower-cased as accounts store theirs. */
  email: string;
  role: Role;
  /** The owner who invited; the invitation goes when they stop being an owner. */
  invitedBy: string;
  createdAt: number;
  expiresAt: number;
}

export interface NewInvitation {
  projectId: string;
  email: string;
  role: Role;
  invitedBy: string;
  now: number;
  expiresAt: number;
}

/** What became of an accept; only `accepted` changed anything. */
export type AcceptOutcome =
  | { kind: 'accepted'; projectId: string; role: Role }
  | { kind: 'no_account' }
  | { kind: 'unknown' }
  | { kind: 'other_email' }
  | { kind: 'expired' }
  | { kind: 'member'; projectId: string };

interface InvitationRow {
  id: string;
  project_id: string;
  email: string;
  role: Role;
  token_hash: Uint8Array;
  invited_by: string;
  created_at: number;
  expires_at: number;
}

const COLUMNS = 'id, project_id, email, role, token_hash, invited_by, created_at, expires_at';

export class InvitationStore {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectStore,
  ) {}

  /**
   * Invites `email` to a project, replacing a pending invitation of the same address; the
   * returned `token` is the only time the whole secret exists outside. 409 when the address
   * is a member's, or (`pendingMax`) when the project has that many pending invitations.
   * Expired invitations of the project are deleted here, so they never pile up.
   */
  create(input: NewInvitation, pendingMax: number): { token: string; info: Invitation } {
    const secret = newSecret('iv');
    this.db.transaction(() => {
      if (this.isMember(input.projectId, input.email)) {
        throw new AppError('conflict', `${input.email} is already a member of ${input.projectId}`);
      }
      this.db
        .query(
          'DELETE FROM project_invitations WHERE project_id = ? AND (expires_at <= ? OR email = ?)',
        )
        .run(input.projectId, input.now, input.email);
      if (this.pendingCount(input.projectId) >= pendingMax) {
        throw boundReached('invitationsPerProjectMax', pendingMax, 'revoke one to make room');
      }
      this.db
        .query(`INSERT INTO project_invitations (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          secret.id,
          input.projectId,
          input.email,
          input.role,
          secret.hash,
          input.invitedBy,
          input.now,
          input.expiresAt,
        );
    })();
    return { token: secret.token, info: this.byId(secret.id) as Invitation };
  }

  /** The project's invitations that can still be accepted, oldest first. */
  pending(projectId: string, now: number): Invitation[] {
    const rows = this.db
      .query(
        `SELECT ${COLUMNS} FROM project_invitations WHERE project_id = ? AND expires_at > ?
         ORDER BY created_at, rowid`,
      )
      .all(projectId, now) as InvitationRow[];
    return rows.map(invitationOf);
  }

  /** Revokes (deletes) an invitation of `projectId`; false when it has no such invitation. */
  revoke(projectId: string, id: string): boolean {
    return (
      this.db
        .query('DELETE FROM project_invitations WHERE id = ? AND project_id = ?')
        .run(id, projectId).changes > 0
    );
  }

  /**
   * Accepts the invitation `token` is for the account `userId`: in one transaction the
   * membership is made (within the bounds, whose refusal writes nothing) and the invitation
   * deleted, so two accepts of one token cannot both succeed. The account's email is read in
   * that transaction too, not taken from the request's sign-in: an account that changed its
   * address (or was deleted) while its request was arriving accepts nothing. The token is
   * found by its lookup id and then compared, as a hash, in constant time.
   */
  accept(
    token: string,
    userId: string,
    now: number,
    bounds: Pick<ProjectBounds, 'projectsPerUserMax' | 'membersPerProjectMax'>,
  ): AcceptOutcome {
    return this.db.transaction((): AcceptOutcome => {
      const email = this.emailOf(userId);
      if (email === null) return { kind: 'no_account' };
      const found = this.byToken(token);
      if (found === null) return { kind: 'unknown' };
      if (found.email !== email) return { kind: 'other_email' };
      if (found.expiresAt <= now) return { kind: 'expired' };
      const { projectId, role } = found;
      if (this.projects.roleOf(projectId, userId) !== null) {
        return { kind: 'member', projectId };
      }
      this.projects.setMember(projectId, userId, role, now, bounds);
      this.db.query('DELETE FROM project_invitations WHERE id = ?').run(found.id);
      return { kind: 'accepted', projectId, role };
    })();
  }

  /** The invitation a well-formed token is for, if its hash matches; else null. */
  private byToken(token: string): Invitation | null {
    const id = secretIdOf(token, 'iv');
    if (id === null) return null;
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM project_invitations WHERE id = ?`)
      .get(id) as InvitationRow | null;
    if (row === null || !secretMatches(token, row.token_hash)) return null;
    return invitationOf(row);
  }

  /** The account's current email, or null when there is no such account. */
  private emailOf(userId: string): string | null {
    const row = this.db.query('SELECT email FROM users WHERE id = ?').get(userId) as {
      email: string;
    } | null;
    return row === null ? null : row.email;
  }

  private byId(id: string): Invitation | null {
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM project_invitations WHERE id = ?`)
      .get(id) as InvitationRow | null;
    return row === null ? null : invitationOf(row);
  }

  /** Invitations of the project that have not expired (the expired ones are deleted first). */
  private pendingCount(projectId: string): number {
    const row = this.db
      .query('SELECT count(*) AS n FROM project_invitations WHERE project_id = ?')
      .get(projectId) as { n: number };
    return row.n;
  }

  private isMember(projectId: string, email: string): boolean {
    const row = this.db
      .query(
        `SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = ? AND u.email = ?`,
      )
      .get(projectId, email);
    return row !== null;
  }
}

function invitationOf(row: InvitationRow): Invitation {
  return {
    id: row.id,
    projectId: row.project_id,
    email: row.email,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
