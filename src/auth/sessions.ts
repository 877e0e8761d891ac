// Sessions and their rotating refresh tokens (RFC 9700 §4.14). A login starts a session (a token
// family); each refresh marks the presented token used and issues the next one. Presenting a
// used token means it leaked: the whole family is revoked, so the thief's and the owner's
// tokens — and the access tokens of that session — stop working together.

import type { Database } from 'bun:sqlite';
import { newSecret, secretIdOf, secretMatches } from './secrets.ts';

export type RotateOutcome =
  | { kind: 'ok'; userId: string; sessionId: string; refreshToken: string }
  | { kind: 'invalid' }
  | { kind: 'expired' }
  | { kind: 'revoked' }
  | { kind: 'reused' };

interface TokenRow {
  session_id: string;
  token_hash: Uint8Array;
  expires_at: number;
  used_at: number | null;
  user_id: string;
  revoked_at: number | null;
}

/**
 * Sessions kept per user: a login past it deletes the user's ended ones, then those unused
 * longest (their refresh tokens stop working). Far above a person's devices; without it, logins
 * (10 a minute per email at most) could add ~14,400 session rows a day to an account, each kept
 * for the refresh lifetime.
 */
export const SESSIONS_PER_USER_MAX = 100;

export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly refreshTtlMs: number,
    private readonly sessionsMax: number = SESSIONS_PER_USER_MAX,
  ) {}

  /**
   * Starts a session for `userId`; returns its id and first refresh token. Past
   * SESSIONS_PER_USER_MAX of the user's sessions, the revoked ones go first, then the live ones
   * last used (signed in or refreshed) longest ago, with their tokens: not the first made, which
   * may be the one in use (a dashboard signed in weeks ago and refreshed since), while the
   * sign-ins after it (each reloaded tab, each Umami client's login) are held by nobody.
   * `ended`: the user's sessions it deleted so.
   */
  start(userId: string, now: number): { sessionId: string; refreshToken: string; ended: number } {
    const sessionId = Bun.randomUUIDv7();
    let refreshToken = '';
    let ended = 0;
    this.db.transaction(() => {
      this.db
        .query('INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)')
        .run(sessionId, userId, now);
      refreshToken = this.issue(sessionId, now);
      // A session's last use is its newest refresh token's issue (a login or a rotation): the
      // token of the highest rowid, as each insert takes one above all rows there are (no
      // INTEGER PRIMARY KEY, no VACUUM), read from the session index alone, not from each of
      // the thousands of rows a session refreshed for weeks keeps. Session ids are UUIDv7.
      ended = this.db
        .query(
          `DELETE FROM sessions WHERE user_id = ?1 AND id NOT IN (SELECT s.id FROM sessions s
             WHERE s.user_id = ?1
             ORDER BY s.revoked_at IS NULL DESC,
               (SELECT max(t.rowid) FROM refresh_tokens t WHERE t.session_id = s.id) DESC,
               s.created_at DESC, s.id DESC
             LIMIT ?2)`,
        )
        .run(userId, this.sessionsMax).changes;
    })();
    return { sessionId, refreshToken, ended };
  }

  /**
   * Exchanges a refresh token for the next one of its family. `admit(userId)` runs once the
   * token is known to be live, before it is spent: it may throw (a rate limit), and then the
   * token stays usable.
   */
  rotate(token: string, now: number, admit?: (userId: string) => void): RotateOutcome {
    const found = this.find(token);
    if (found === null) return { kind: 'invalid' };
    if (found.revoked_at !== null) return { kind: 'revoked' };
    if (found.used_at !== null) {
      this.revoke(found.session_id, 'refresh token reuse', now);
      return { kind: 'reused' };
    }
    if (found.expires_at <= now) return { kind: 'expired' };
    admit?.(found.user_id);
    let refreshToken = '';
    this.db.transaction(() => {
      this.db
        .query('UPDATE refresh_tokens SET used_at = ? WHERE id = ?')
        .run(now, secretIdOf(token, 'rt'));
      refreshToken = this.issue(found.session_id, now);
    })();
    return { kind: 'ok', userId: found.user_id, sessionId: found.session_id, refreshToken };
  }

  /** Revokes the family of a refresh token (logout); false when the token is unknown. */
  revokeByToken(token: string, now: number): boolean {
    const found = this.find(token);
    if (found === null) return false;
    this.revoke(found.session_id, 'logout', now);
    return true;
  }

  revoke(sessionId: string, reason: string, now: number): void {
    this.db
      .query(
        `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
         WHERE id = ? AND revoked_at IS NULL`,
      )
      .run(now, reason, sessionId);
  }

  /** Revokes every session of a user except `keep` (after a password change). */
  revokeOthers(userId: string, keep: string | null, reason: string, now: number): number {
    return this.db
      .query(
        `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
         WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?`,
      )
      .run(now, reason, userId, keep).changes;
  }

  /** Whether `sessionId` belongs to `userId` and is not revoked. */
  isActive(sessionId: string, userId: string): boolean {
    return (
      this.db
        .query('SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
        .get(sessionId, userId) !== null
    );
  }

  /**
   * Deletes refresh tokens past their expiry and sessions with no token left. A used token is
   * kept until then, so its reuse is still recognized.
   */
  purge(now: number): void {
    this.db.transaction(() => {
      this.db.query('DELETE FROM refresh_tokens WHERE expires_at <= ?').run(now);
      this.db
        .query(
          `DELETE FROM sessions WHERE created_at <= ? AND NOT EXISTS
             (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)`,
        )
        .run(now - this.refreshTtlMs);
    })();
  }

  private issue(sessionId: string, now: number): string {
    const secret = newSecret('rt');
    this.db
      .query(
        `INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(secret.id, sessionId, secret.hash, now, now + this.refreshTtlMs);
    return secret.token;
  }

  private find(token: string): TokenRow | null {
    const id = secretIdOf(token, 'rt');
    if (id === null) return null;
    const row = this.db
      .query(
        `SELECT t.session_id, t.token_hash, t.expires_at, t.used_at, s.user_id, s.revoked_at
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.id = ?`,
      )
      .get(id) as TokenRow | null;
    if (row === null || !secretMatches(token, row.token_hash)) return null;
    return row;
  }
}
