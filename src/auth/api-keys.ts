// A project's API keys. Write keys (`wk_…`) are public — they sit in web pages — and can only
// ingest, optionally only from listed Origins. Read keys (`rk_…`) are secret. Both are shown
// once and stored as hashes; every check reads SQLite, so a revoke takes effect at once.

import type { Database } from 'bun:sqlite';
import { boundReached } from './bounds.ts';
import { newSecret, type SecretKind, secretIdOf, secretMatches } from './secrets.ts';

export type KeyKind = 'write' | 'read';
export const KEY_KINDS = ['write', 'read'] as const satisfies readonly KeyKind[];

export interface ApiKey {
  /** The public prefix, e.g. `wk_3fK9c0Qx_a1B`; the rest of the key is never stored. */
  id: string;
  projectId: string;
  kind: KeyKind;
  name: string | null;
  /** Origins a write key is bound to; null when any origin may use it. */
  allowedOrigins: string[] | null;
  createdAt: number;
  revokedAt: number | null;
}

interface KeyRow {
  id: string;
  project_id: string;
  kind: KeyKind;
  key_hash: Uint8Array;
  name: string | null;
  allowed_origins: string | null;
  created_at: number;
  revoked_at: number | null;
}

const COLUMNS = 'id, project_id, kind, key_hash, name, allowed_origins, created_at, revoked_at';
const prefixOf: Record<KeyKind, SecretKind> = { write: 'wk', read: 'rk' };

export interface NewKey {
  projectId: string;
  kind: KeyKind;
  name: string | null;
  allowedOrigins: string[] | null;
  now: number;
}

export class ApiKeyStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates a key; the returned `key` is the only time the whole secret exists outside. With
   * `activeMax`, 409 when the project has that many live keys (checked in the insert's
   * transaction), and revoked keys past the newest `activeMax` are deleted: revoking and
   * minting in a loop must not grow the table without bound either.
   */
  create(input: NewKey, activeMax = Number.POSITIVE_INFINITY): { key: string; info: ApiKey } {
    const secret = newSecret(prefixOf[input.kind]);
    const origins = input.kind === 'write' ? input.allowedOrigins : null;
    this.db.transaction(() => {
      if (this.activeCount(input.projectId) >= activeMax) {
        throw boundReached('keysPerProjectMax', activeMax, 'revoke one to make room');
      }
      this.db
        .query(
          `INSERT INTO api_keys (id, project_id, kind, key_hash, name, allowed_origins, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          secret.id,
          input.projectId,
          input.kind,
          secret.hash,
          input.name,
          origins === null ? null : JSON.stringify(origins),
          input.now,
        );
      if (Number.isFinite(activeMax)) this.pruneRevoked(input.projectId, activeMax);
    })();
    return { key: secret.token, info: this.byId(secret.id) as ApiKey };
  }

  /** Live (not revoked) keys of a project. */
  activeCount(projectId: string): number {
    const row = this.db
      .query('SELECT count(*) AS n FROM api_keys WHERE project_id = ? AND revoked_at IS NULL')
      .get(projectId) as { n: number };
    return row.n;
  }

  list(projectId: string): ApiKey[] {
    const rows = this.db
      .query(
        `SELECT ${COLUMNS} FROM api_keys WHERE project_id = ?
         ORDER BY created_at, rowid`,
      )
      .all(projectId) as KeyRow[];
    return rows.map(keyOf);
  }

  /** Revokes a key of `projectId`; false when there is no such key. */
  revoke(projectId: string, keyId: string, now: number): boolean {
    const result = this.db
      .query(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?)
         WHERE id = ? AND project_id = ?`,
      )
      .run(now, keyId, projectId);
    return result.changes > 0;
  }

  /** The live key `token` is, if it is one of `kind`; null for unknown, wrong or revoked. */
  verify(token: string, kind: KeyKind): ApiKey | null {
    const id = secretIdOf(token, prefixOf[kind]);
    if (id === null) return null;
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM api_keys WHERE id = ? AND revoked_at IS NULL`)
      .get(id) as KeyRow | null;
    if (row === null || row.kind !== kind || !secretMatches(token, row.key_hash)) return null;
    return keyOf(row);
  }

  /** Keeps the newest `keep` revoked keys of a project, for review; deletes older ones. */
  private pruneRevoked(projectId: string, keep: number): void {
    this.db
      .query(
        `DELETE FROM api_keys WHERE project_id = ?1 AND revoked_at IS NOT NULL AND id NOT IN (
           SELECT id FROM api_keys WHERE project_id = ?1 AND revoked_at IS NOT NULL
           ORDER BY revoked_at DESC, rowid DESC LIMIT ?2)`,
      )
      .run(projectId, keep);
  }

  private byId(id: string): ApiKey | null {
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`)
      .get(id) as KeyRow | null;
    return row === null ? null : keyOf(row);
  }
}

function keyOf(row: KeyRow): ApiKey {
  return {
    id: row.id,
    projectId: row.project_id,
    kind: row.kind,
    name: row.name,
    allowedOrigins:
      row.allowed_origins === null ? null : (JSON.parse(row.allowed_origins) as string[]),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
