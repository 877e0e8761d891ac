// Projects and their members. A project is a tenant: its id is the tenant string its events
// carry. Members are owners (manage keys, aliases and members; read) or viewers (read).

import type { Database } from 'bun:sqlite';
import { AppError } from '../core/index.ts';
import { unauthorized } from './accounts.ts';
import { boundReached, type ProjectBounds } from './bounds.ts';

export type Role = 'owner' | 'viewer';
export const ROLES = ['owner', 'viewer'] as const satisfies readonly Role[];

export interface Project {
  id: string;
  name: string;
  createdAt: number;
  /** Days of events kept (0: forever); null follows the server's RETENTION_DAYS. */
  retentionDays: number | null;
}

/** What a project's owners may change (PATCH /api/v1/projects/{id}); absent: unchanged. */
export interface ProjectChange {
  name?: string;
  retentionDays?: number | null;
}

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: Role;
  createdAt: number;
}

interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
  retention_days: number | null;
  role?: Role;
}

export class ProjectStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates a project owned by `ownerId` (none for a bootstrap); 409 when the id is taken or
   * the owner already owns `ownedMax` projects, 401 when the owner's account is gone (deleted
   * while the create awaited the tenant probe): all checked in the insert's transaction.
   */
  create(
    id: string,
    name: string,
    ownerId: string | null,
    now: number,
    ownedMax = Number.POSITIVE_INFINITY,
    retentionDays: number | null = null,
  ): Project {
    this.db.transaction(() => {
      if (
        ownerId !== null &&
        this.db.query('SELECT 1 FROM users WHERE id = ?').get(ownerId) === null
      ) {
        throw unauthorized('the account of this access token was deleted', 'invalid_token');
      }
      if (ownerId !== null && this.ownedCount(ownerId) >= ownedMax) {
        throw boundReached('projectsPerUserMax', ownedMax, 'you own that many already');
      }
      if (this.get(id) !== null || this.isAlias(id)) {
        throw new AppError('conflict', `the project id ${id} is taken`);
      }
      this.db
        .query('INSERT INTO projects (id, name, created_at, retention_days) VALUES (?, ?, ?, ?)')
        .run(id, name, now, retentionDays);
      if (ownerId !== null) this.setMember(id, ownerId, 'owner', now);
    })();
    return this.get(id) as Project;
  }

  get(id: string): Project | null {
    const row = this.db
      .query('SELECT id, name, created_at, retention_days FROM projects WHERE id = ?')
      .get(id) as ProjectRow | null;
    return row === null ? null : projectOf(row);
  }

  /** Applies `change` to project `id`; false (nothing changed) when there is no such project. */
  update(id: string, change: ProjectChange): boolean {
    const { name = null, retentionDays } = change;
    const setsRetention = retentionDays !== undefined ? 1 : 0;
    const result = this.db
      .query(
        `UPDATE projects SET name = coalesce(?1, name),
           retention_days = CASE WHEN ?2 = 1 THEN ?3 ELSE retention_days END
         WHERE id = ?4`,
      )
      .run(name, setsRetention, retentionDays ?? null, id);
    return result.changes > 0;
  }

  /** The projects `userId` belongs to, with their role, oldest first. */
  listFor(userId: string): (Project & { role: Role })[] {
    const rows = this.db
      .query(
        `SELECT p.id, p.name, p.created_at, p.retention_days, m.role FROM projects p
         JOIN project_members m ON m.project_id = p.id
         WHERE m.user_id = ? ORDER BY p.created_at, p.rowid`,
      )
      .all(userId) as ProjectRow[];
    return rows.map((row) => ({ ...projectOf(row), role: row.role as Role }));
  }

  roleOf(projectId: string, userId: string): Role | null {
    const row = this.db
      .query('SELECT role FROM project_members WHERE project_id = ? AND user_id = ?')
      .get(projectId, userId) as { role: Role } | null;
    return row?.role ?? null;
  }

  members(projectId: string): Member[] {
    const rows = this.db
      .query(
        `SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM project_members m
         JOIN users u ON u.id = m.user_id WHERE m.project_id = ?
         ORDER BY m.created_at, m.rowid`,
      )
      .all(projectId) as {
      user_id: string;
      email: string;
      name: string | null;
      role: Role;
      created_at: number;
    }[];
    return rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      name: r.name,
      role: r.role,
      createdAt: r.created_at,
    }));
  }

  /** Ids of the projects whose only owner is `userId`, oldest first. */
  soleOwnedBy(userId: string): string[] {
    const rows = this.db
      .query(
        `SELECT m.project_id AS id FROM project_members m
         WHERE m.user_id = ?1 AND m.role = 'owner' AND NOT EXISTS (
           SELECT 1 FROM project_members o
           WHERE o.project_id = m.project_id AND o.role = 'owner' AND o.user_id <> ?1)
         ORDER BY m.created_at, m.rowid`,
      )
      .all(userId) as { id: string }[];
    return rows.map((row) => row.id);
  }

  /**
   * Adds a member or changes their role; the last owner cannot step down. With `bounds`, a new
   * member must fit the project's members, and a new owner the projects they may own (else
   * two accounts handing projects to each other would own any number).
   */
  setMember(
    projectId: string,
    userId: string,
    role: Role,
    now: number,
    bounds?: Pick<ProjectBounds, 'projectsPerUserMax' | 'membersPerProjectMax'>,
  ): void {
    this.db.transaction(() => {
      if (bounds !== undefined) this.requireRoom(projectId, userId, role, bounds);
      if (role !== 'owner') this.requireAnotherOwner(projectId, userId);
      this.db
        .query(
          `INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
        )
        .run(projectId, userId, role, now);
    })();
  }

  /**
   * Changes the role of an existing member; false, writing nothing, when `userId` is not a
   * member. The last owner cannot step down; a new owner must fit the projects they may own.
   */
  changeRole(
    projectId: string,
    userId: string,
    role: Role,
    bounds: Pick<ProjectBounds, 'projectsPerUserMax' | 'membersPerProjectMax'>,
  ): boolean {
    return this.db.transaction(() => {
      if (this.roleOf(projectId, userId) === null) return false;
      this.requireRoom(projectId, userId, role, bounds);
      if (role !== 'owner') this.requireAnotherOwner(projectId, userId);
      this.db
        .query('UPDATE project_members SET role = ? WHERE project_id = ? AND user_id = ?')
        .run(role, projectId, userId);
      return true;
    })();
  }

  /**
   * Deletes a project with its members, keys, aliases and invitations (ON DELETE CASCADE), and
   * runs `alongside` in the same transaction; false (nothing changed) when there is no such
   * project.
   */
  remove(id: string, alongside: () => void): boolean {
    return this.db.transaction(() => {
      if (this.db.query('DELETE FROM projects WHERE id = ?').run(id).changes === 0) return false;
      alongside();
      return true;
    })();
  }

  /** Removes a member; false when they were not one. The last owner cannot be removed. */
  removeMember(projectId: string, userId: string): boolean {
    let removed = false;
    this.db.transaction(() => {
      this.requireAnotherOwner(projectId, userId);
      removed =
        this.db
          .query('DELETE FROM project_members WHERE project_id = ? AND user_id = ?')
          .run(projectId, userId).changes > 0;
    })();
    return removed;
  }

  private requireRoom(
    projectId: string,
    userId: string,
    role: Role,
    bounds: Pick<ProjectBounds, 'projectsPerUserMax' | 'membersPerProjectMax'>,
  ): void {
    const current = this.roleOf(projectId, userId);
    if (current === null) {
      const members = this.db
        .query('SELECT count(*) AS n FROM project_members WHERE project_id = ?')
        .get(projectId) as { n: number };
      if (members.n >= bounds.membersPerProjectMax) {
        const max = bounds.membersPerProjectMax;
        throw boundReached('membersPerProjectMax', max, 'remove one to make room');
      }
    }
    if (role === 'owner' && current !== 'owner') {
      const max = bounds.projectsPerUserMax;
      if (this.ownedCount(userId) >= max) {
        throw boundReached('projectsPerUserMax', max, 'that user owns that many already');
      }
    }
  }

  /** Projects `userId` owns. */
  private ownedCount(userId: string): number {
    const row = this.db
      .query("SELECT count(*) AS n FROM project_members WHERE user_id = ? AND role = 'owner'")
      .get(userId) as { n: number };
    return row.n;
  }

  private requireAnotherOwner(projectId: string, userId: string): void {
    if (this.roleOf(projectId, userId) !== 'owner') return;
    const owners = this.db
      .query("SELECT count(*) AS n FROM project_members WHERE project_id = ? AND role = 'owner'")
      .get(projectId) as { n: number };
    if (owners.n <= 1) {
      throw new AppError('conflict', 'a project keeps at least one owner; add another first');
    }
  }

  private isAlias(id: string): boolean {
    return this.db.query('SELECT 1 FROM project_aliases WHERE alias = ?').get(id) !== null;
  }
}

function projectOf(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    retentionDays: row.retention_days,
  };
}
