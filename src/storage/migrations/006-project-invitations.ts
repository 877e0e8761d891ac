// Invitations to join a project. One pending invitation per (project, email): inviting the
// address again replaces it. The token is stored only as its SHA-256 hash; `id` is its public
// lookup part (`iv_…`). The invitee is an email, not an account, so deleting an account leaves
// the invitations to its address as they are; deleting the project deletes its invitations.

import type { Database } from 'bun:sqlite';

export function migration006(db: Database): void {
  db.run(`CREATE TABLE project_invitations (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    token_hash BLOB NOT NULL,
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (project_id, email)
  ) STRICT`);
  // Deleting a user sets invited_by to null in their invitations: found by this index.
  db.run('CREATE INDEX project_invitations_by_inviter ON project_invitations (invited_by)');
}
