// The round that checks open sockets' credentials again (revoked keys, ended sessions, expired
// tokens, lost membership). Each distinct credential is checked once per round, so thousands
// of sockets of one dashboard key cost one check, and a turn checks a bounded share. A check
// that fails (SQLite busy, an I/O error) says nothing about the credentials: the socket stays
// open and is checked again next round, and only after CREDENTIALS_UNCHECKED_ROUNDS_MAX such
// rounds in a row, CREDENTIALS_RECHECK_MS apart, is it closed (1011). A change of access made
// through Tally (a key revoked, a session ended, a member removed) asks for a round at once
// (RecheckSchedule.want).

import { isDue } from './due.ts';
import type { Connection, LiveCredentials } from './feed.ts';
import type { LiveLimits } from './limits.ts';
import type { Step } from './turns.ts';

/** How often open sockets' credentials are checked again (revocation, expiry, membership). */
export const CREDENTIALS_RECHECK_MS = 5000;

/**
 * Rounds in a row in which a socket's credentials could not be checked (the check threw)
 * before it is closed with 1011: 6 × 5 s = 30 s, so a passing database error never drops a
 * dashboard, and a lasting one does not let a socket stream past a revocation it cannot see.
 * Only rounds CREDENTIALS_RECHECK_MS apart count: those asked for by changes of access (up to
 * one a second) would otherwise drop every dashboard within 6 s of a failure.
 */
export const CREDENTIALS_UNCHECKED_ROUNDS_MAX = 6;

/**
 * Least time between two rounds asked for by changes of access (the exports' too:
 * http/export-access.ts): a change ends its sockets at the next tick, unless such a round ran
 * less than this before (then at most this much later), so a stream of logouts cannot keep the
 * server checking every socket back to back.
 */
export const CREDENTIALS_RECHECK_SOON_MS = 1000;

/**
 * When the next credentials round is due: every CREDENTIALS_RECHECK_MS, soon when asked, and
 * soon once a socket's access token expires.
 */
export class RecheckSchedule {
  private checkedAt = Number.NEGATIVE_INFINITY;
  private soonAt = Number.NEGATIVE_INFINITY;
  private wanted = false;
  /**
   * The whole seconds at which some socket's access token expires (those of sockets closed
   * since stay until then): at most one per second of ACCESS_TOKEN_TTL, however many sockets.
   */
  private readonly expiries = new Set<number>();
  /** The earliest of them: they are looked through only once it comes. */
  private nextExpiry = Number.POSITIVE_INFINITY;

  /** Some credentials may have lost their access: a round as soon as one may run. */
  want(): void {
    this.wanted = true;
  }

  /** A socket's credentials expire at `atMs`: a round as soon as one may run from then on. */
  expireAt(atMs: number): void {
    const second = Math.ceil(atMs / 1000) * 1000;
    this.expiries.add(second);
    this.nextExpiry = Math.min(this.nextExpiry, second);
  }

  /** Whether a round is due at `nowMs` (the caller starts it: it is noted as begun then). */
  take(nowMs: number): boolean {
    if (nowMs >= this.nextExpiry) this.expire(nowMs);
    const soon = this.wanted && isDue(nowMs, this.soonAt, CREDENTIALS_RECHECK_SOON_MS);
    if (!soon && !isDue(nowMs, this.checkedAt, CREDENTIALS_RECHECK_MS)) return false;
    if (soon) this.soonAt = nowMs;
    this.wanted = false; // this round sees every change made so far
    this.checkedAt = nowMs;
    return true;
  }

  /** Forgets the expiries that came by `nowMs`, asking for a round, and notes the next one. */
  private expire(nowMs: number): void {
    this.nextExpiry = Number.POSITIVE_INFINITY;
    for (const atMs of this.expiries) {
      if (atMs <= nowMs) {
        this.expiries.delete(atMs);
        this.wanted = true;
      } else this.nextExpiry = Math.min(this.nextExpiry, atMs);
    }
  }
}

/** Credentials that never lapse (open mode, tests). */
export const OPEN_CREDENTIALS: LiveCredentials = { key: 'open', stillAuthorized: () => true };

/** What a round does with each socket's verdict. */
export interface RecheckHooks {
  /** The socket's credentials lapsed (close it: 1008). */
  lapsed(conn: Connection): void;
  /**
   * The check of `conn`'s credentials threw: called for a round's first such check only (a
   * database that fails one fails the others alike; a log line per key would flood).
   */
  checkFailed(conn: Connection, error: unknown): void;
  /** The socket's credentials could not be checked CREDENTIALS_UNCHECKED_ROUNDS_MAX times. */
  unchecked(conn: Connection): void;
}

type Verdict = 'allowed' | 'lapsed' | 'failed';

/**
 * A round begun at `nowMs` over `conns`, calling `hooks` for each open socket whose check was
 * not a yes.
 */
export function recheckStep(
  conns: readonly Connection[],
  limits: Pick<LiveLimits, 'recheckCredentialsPerTurnMax' | 'recheckSocketsPerTurnMax'>,
  hooks: RecheckHooks,
  nowMs: number,
): Step {
  const verdicts = new Map<string, Verdict>();
  let next = 0;
  let failed = false;
  const check = (conn: Connection): Verdict => {
    try {
      return conn.credentials.stillAuthorized() ? 'allowed' : 'lapsed';
    } catch (error) {
      if (!failed) hooks.checkFailed(conn, error);
      failed = true;
      return 'failed';
    }
  };
  return () => {
    let checks = 0;
    const end = Math.min(conns.length, next + limits.recheckSocketsPerTurnMax);
    while (next < end && checks < limits.recheckCredentialsPerTurnMax) {
      const conn = conns[next++] as Connection;
      if (!conn.open) continue;
      const { key } = conn.credentials;
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        verdict = check(conn);
        verdicts.set(key, verdict);
        checks++;
      }
      if (verdict === 'allowed') {
        conn.uncheckedRounds = 0;
        conn.uncheckedAt = Number.NEGATIVE_INFINITY;
      } else if (verdict === 'lapsed') hooks.lapsed(conn);
      else if (isDue(nowMs, conn.uncheckedAt, CREDENTIALS_RECHECK_MS)) {
        conn.uncheckedAt = nowMs;
        if (++conn.uncheckedRounds >= CREDENTIALS_UNCHECKED_ROUNDS_MAX) hooks.unchecked(conn);
      }
    }
    return next >= conns.length;
  };
}
