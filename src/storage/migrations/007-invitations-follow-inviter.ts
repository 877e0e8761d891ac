// An invitation carries the authority of the owner who made it, so it lasts only while they
// are an owner of its project: stepping down to viewer, leaving (or being removed from) the
// project, or deleting the account revokes the invitations one made. Otherwise an owner the
// others removed could come back through an invitation sent before, to an accomplice or to a
// second account of their own. Triggers, like the cascade that deletes a project's
// invitations with it, so no route that changes a membership can forget them.

import type { Database } from 'bun:sqlite';

export function migration007(db: Database): void {
  // Invitations already standing without an owner behind them go now.
  db.run(`DELETE FROM project_invitations WHERE invited_by IS NULL OR NOT EXISTS (
    SELECT 1 FROM project_members m WHERE m.project_id = project_invitations.project_id
      AND m.user_id = project_invitations.invited_by AND m.role = 'owner')`);
  db.run(`CREATE TRIGGER project_invitations_inviter_demoted
    AFTER UPDATE OF role ON project_members WHEN NEW.role <> 'owner'
    BEGIN
      DELETE FROM project_invitations
      WHERE project_id = NEW.project_id AND invited_by = NEW.user_id;
    END`);
  // Also fired by the cascade of a deleted user or project.
  db.run(`CREATE TRIGGER project_invitations_inviter_left
    AFTER DELETE ON project_members
    BEGIN
      DELETE FROM project_invitations
      WHERE project_id = OLD.project_id AND invited_by = OLD.user_id;
    END`);
  // Before the foreign key's ON DELETE SET NULL could leave them standing without an inviter.
  db.run(`CREATE TRIGGER project_invitations_inviter_deleted
    BEFORE DELETE ON users
    BEGIN
      DELETE FROM project_invitations WHERE invited_by = OLD.id;
    END`);
}
