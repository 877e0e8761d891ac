// Email addresses are stored in Unicode NFC from now on (auth's canonicalEmail), so an address
// typed with a precomposed letter and the same address with a combining mark are one. Rows
// stored before get their NFC form here. An account whose NFC form another account already
// has keeps its stored form (two accounts cannot be merged; a login, now in NFC, finds the
// other), and an invitation whose NFC form the project already invited goes: that one stands.

import type { Database } from 'bun:sqlite';

export function migration008(db: Database): void {
  const users = db.query('SELECT id, email FROM users').all() as { id: string; email: string }[];
  const taken = db.query('SELECT 1 FROM users WHERE email = ?');
  const setUser = db.query('UPDATE users SET email = ? WHERE id = ?');
  for (const { id, email } of users) {
    const nfc = email.normalize('NFC');
    if (nfc !== email && taken.get(nfc) === null) setUser.run(nfc, id);
  }
  const invitations = db.query('SELECT id, project_id, email FROM project_invitations').all() as {
    id: string;
    project_id: string;
    email: string;
  }[];
  const invited = db.query('SELECT 1 FROM project_invitations WHERE project_id = ? AND email = ?');
  const setInvitation = db.query('UPDATE project_invitations SET email = ? WHERE id = ?');
  const drop = db.query('DELETE FROM project_invitations WHERE id = ?');
  for (const { id, project_id, email } of invitations) {
    const nfc = email.normalize('NFC');
    if (nfc === email) continue;
    if (invited.get(project_id, nfc) === null) setInvitation.run(nfc, id);
    else drop.run(id);
  }
}
