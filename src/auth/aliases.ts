// Site aliases: other names a project answers to — a tenant_id or site_id an SDK sends, an
// Umami website UUID, a Plausible domain. An alias belongs to one project and never equals a
// project id, so any claimed name resolves to at most one tenant.

import type { Database } from 'bun:sqlite';
import { AppError } from '../core/index.ts';
import { boundReached } from './bounds.ts';

export type AliasKind = 'tenant_id' | 'site_id' | 'umami_website' | 'plausible_domain';
export const ALIAS_KINDS = [
  'tenant_id',
  'site_id',
  'umami_website',
  'plausible_domain',
] as const satisfies readonly AliasKind[];

export interface Alias {
  alias: string;
  projectId: string;
  kind: AliasKind;
  createdAt: number;
}

interface AliasRow {
  alias: string;
  project_id: string;
  kind: AliasKind;
  created_at: number;
}

export class AliasStore {
  constructor(private readonly db: Database) {}

  /**
   * Registers `alias` for `projectId`; 409 when it names a project or another alias, or when
   * the project has `max` aliases (checked in the insert's transaction).
   */
  add(
    projectId: string,
    alias: string,
    kind: AliasKind,
    now: number,
    max = Number.POSITIVE_INFINITY,
  ): Alias {
    this.db.transaction(() => {
      const held = this.db
        .query('SELECT count(*) AS n FROM project_aliases WHERE project_id = ?')
        .get(projectId) as { n: number };
      // Taken first: re-adding an alias the project already has is "taken" at the bound too.
      const taken =
        this.db.query('SELECT 1 FROM projects WHERE id = ?').get(alias) !== null ||
        this.db.query('SELECT 1 FROM project_aliases WHERE alias = ?').get(alias) !== null;
      if (taken) throw new AppError('conflict', `the alias ${alias} is taken`);
      if (held.n >= max) throw boundReached('aliasesPerProjectMax', max, 'remove one to make room');
      this.db
        .query(
          'INSERT INTO project_aliases (alias, project_id, kind, created_at) VALUES (?, ?, ?, ?)',
        )
        .run(alias, projectId, kind, now);
    })();
    return { alias, projectId, kind, createdAt: now };
  }

  list(projectId: string): Alias[] {
    const rows = this.db
      .query(
        `SELECT alias, project_id, kind, created_at FROM project_aliases
         WHERE project_id = ? ORDER BY created_at, rowid`,
      )
      .all(projectId) as AliasRow[];
    return rows.map((r) => ({
      alias: r.alias,
      projectId: r.project_id,
      kind: r.kind,
      createdAt: r.created_at,
    }));
  }

  /** Removes an alias of `projectId`; false when it has no such alias. */
  remove(projectId: string, alias: string): boolean {
    return (
      this.db
        .query('DELETE FROM project_aliases WHERE alias = ? AND project_id = ?')
        .run(alias, projectId).changes > 0
    );
  }

  /** The alias with its project and kind, or null. */
  get(alias: string): Alias | null {
    const row = this.db
      .query('SELECT alias, project_id, kind, created_at FROM project_aliases WHERE alias = ?')
      .get(alias) as AliasRow | null;
    if (row === null) return null;
    return {
      alias: row.alias,
      projectId: row.project_id,
      kind: row.kind,
      createdAt: row.created_at,
    };
  }

  /** The project an alias belongs to, or null. */
  projectOf(alias: string): string | null {
    const row = this.db
      .query('SELECT project_id FROM project_aliases WHERE alias = ?')
      .get(alias) as { project_id: string } | null;
    return row?.project_id ?? null;
  }
}
