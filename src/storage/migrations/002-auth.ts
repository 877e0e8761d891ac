// Users, sessions (refresh-token families), signing secrets, projects with members, API keys and
// site aliases. Secrets and tokens are stored only as SHA-256 hashes, except the JWT signing
// secrets, which must be usable; they are generated at run time and never leave this file.

import type { Database } from 'bun:sqlite';

export function migration002(db: Database): void {
  db.run(`CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`);
  db.run(`CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    secret BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  ) STRICT`);
  // A session is one refresh-token family: a login and every rotation that follows it.
  db.run(`CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_reason TEXT
  ) STRICT`);
  db.run('CREATE INDEX sessions_by_user ON sessions (user_id)');
  db.run(`CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  ) STRICT`);
  db.run('CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id)');
  db.run('CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at)');
  // A project is a tenant: its id is the tenant string of its events.
  db.run(`CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT`);
  db.run(`CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
  ) STRICT`);
  db.run('CREATE INDEX project_members_by_user ON project_members (user_id)');
  // id is the public lookup part of the key (`wk_…`/`rk_…` prefix); the whole key is hashed.
  db.run(`CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('write', 'read')),
    key_hash BLOB NOT NULL,
    name TEXT,
    allowed_origins TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT`);
  db.run('CREATE INDEX api_keys_by_project ON api_keys (project_id)');
  db.run(`CREATE TABLE project_aliases (
    alias TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL
      CHECK (kind IN ('tenant_id', 'site_id', 'umami_website', 'plausible_domain')),
    created_at INTEGER NOT NULL
  ) STRICT`);
  db.run('CREATE INDEX project_aliases_by_project ON project_aliases (project_id)');
}
