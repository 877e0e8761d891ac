// User accounts in SQLite. Emails are unique (stored lower-cased); a password is kept only as
// its argon2id hash. Deleting a user deletes their sessions and memberships (foreign keys).

import type { Database } from 'bun:sqlite';
import { AppError } from '../core/index.ts';

export interface User {
  id: string;
  email: string;
  name: string | null;
  isAdmin: boolean;
  createdAt: number;
  updatedAt: number;
}

interface UserRow {
  id: string;
  email: string;
  name: string | null;
  is_admin: number;
  created_at: number;
  updated_at: number;
  password_hash: string;
}

const COLUMNS = 'id, email, name, is_admin, created_at, updated_at, password_hash';

export interface NewUser {
  email: string;
  name: string | null;
  passwordHash: string;
  isAdmin: boolean;
  now: number;
}

export interface UserChanges {
  email?: string;
  name?: string | null;
  passwordHash?: string;
}

export class UserStore {
  constructor(private readonly db: Database) {}

  count(): number {
    return (this.db.query('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  adminCount(): number {
    const row = this.db.query('SELECT count(*) AS n FROM users WHERE is_admin = 1').get();
    return (row as { n: number }).n;
  }

  /** Creates a user; 409 when the email is taken. */
  create(input: NewUser): User {
    const id = Bun.randomUUIDv7();
    this.db.transaction(() => {
      this.requireFreeEmail(input.email);
      this.db
        .query(
          `INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.email,
          input.name,
          input.passwordHash,
          input.isAdmin ? 1 : 0,
          input.now,
          input.now,
        );
    })();
    return this.byId(id) as User;
  }

  byId(id: string): User | null {
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM users WHERE id = ?`)
      .get(id) as UserRow | null;
    return row === null ? null : userOf(row);
  }

  /** The user with this (lower-cased) email and their password hash. */
  withHashByEmail(email: string): { user: User; passwordHash: string } | null {
    const row = this.db
      .query(`SELECT ${COLUMNS} FROM users WHERE email = ?`)
      .get(email) as UserRow | null;
    return row === null ? null : { user: userOf(row), passwordHash: row.password_hash };
  }

  passwordHashOf(id: string): string | null {
    const row = this.db.query('SELECT password_hash FROM users WHERE id = ?').get(id) as {
      password_hash: string;
    } | null;
    return row?.password_hash ?? null;
  }

  /** Applies the given changes; 409 when the new email belongs to someone else. */
  update(id: string, changes: UserChanges, now: number): User | null {
    this.db.transaction(() => {
      const current = this.byId(id);
      if (current === null) return;
      if (changes.email !== undefined && changes.email !== current.email) {
        this.requireFreeEmail(changes.email);
      }
      this.db
        .query(
          `UPDATE users SET email = ?, name = ?, password_hash = coalesce(?, password_hash),
             updated_at = ? WHERE id = ?`,
        )
        .run(
          changes.email ?? current.email,
          changes.name === undefined ? current.name : changes.name,
          changes.passwordHash ?? null,
          now,
          id,
        );
    })();
    return this.byId(id);
  }

  delete(id: string): boolean {
    return this.db.query('DELETE FROM users WHERE id = ?').run(id).changes > 0;
  }

  private requireFreeEmail(email: string): void {
    if (this.db.query('SELECT 1 FROM users WHERE email = ?').get(email) !== null) {
      throw new AppError('conflict', 'a user with this email already exists');
    }
  }
}

function userOf(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: row.is_admin === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
