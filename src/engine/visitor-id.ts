// Who an event counts as for unique visitors: its user_id, else its anonymous_id, else, as
// Plausible does, a keyed hash of (tenant, ip, user agent) under a salt that rotates every UTC
// day. No cookie and no stored IP are needed, and since yesterday's salt is discarded, a
// visitor cannot be followed from one day to the next.

import { createHmac, randomBytes } from 'node:crypto';
import { assert, DAY_MS, utcDay } from '../core/index.ts';

export interface VisitorIdInput {
  tenant: string;
  userId: string | null;
  anonymousId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** The salt of the event's UTC day (DailySalts.saltFor(received_at)). */
  salt: string;
}

/** Hex characters kept from the HMAC: 16 bytes, collisions negligible below ~10^18 visitors. */
const HASHED_ID_CHARS = 32;

/**
 * The visitor of an event. The hash is HMAC-SHA256 keyed by the salt over
 * tenant \0 ip \0 user agent (absent parts as ''), so the same person gets different ids on
 * different sites and days. With neither ip nor agent, all such events of a tenant and day
 * share one visitor; the caller decides whether that is acceptable for its source.
 */
export function visitorId(input: VisitorIdInput): string {
  if (input.userId !== null && input.userId !== '') return input.userId;
  if (input.anonymousId !== null && input.anonymousId !== '') return input.anonymousId;
  assert(input.salt !== '', 'a visitor hash needs a salt');
  return createHmac('sha256', input.salt)
    .update(`${input.tenant}\0${input.ip ?? ''}\0${input.userAgent ?? ''}`)
    .digest('hex')
    .slice(0, HASHED_ID_CHARS);
}

/** Where salts outlive a restart (a SQLite table in practice), by UTC day 'YYYY-MM-DD'. */
export interface SaltStore {
  load(day: string): string | null;
  save(day: string, salt: string): void;
}

const SALT_BYTES = 32;

function randomSalt(): string {
  return randomBytes(SALT_BYTES).toString('hex');
}

/**
 * One random salt per UTC day, created on first use and saved through the store so a restart
 * keeps visitor ids stable within the day. Memory holds the newest day asked for and the one
 * before it (events received just after midnight may still be processed with yesterday's
 * time); older days go back to the store. Deleting stored salts older than yesterday is the
 * store's job, and it is what makes a visitor unlinkable across days.
 */
export class DailySalts {
  private readonly salts = new Map<number, string>();
  private newestDay = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: SaltStore,
    private readonly newSalt: () => string = randomSalt,
  ) {}

  /** The salt of the UTC day holding `atMs`. */
  saltFor(atMs: number): string {
    const dayIndex = Math.floor(atMs / DAY_MS);
    const cached = this.salts.get(dayIndex);
    if (cached !== undefined) return cached;
    const day = utcDay(atMs);
    let salt = this.store.load(day);
    if (salt === null) {
      salt = this.newSalt();
      assert(salt !== '', 'a salt is not empty');
      this.store.save(day, salt);
    }
    if (dayIndex > this.newestDay) this.newestDay = dayIndex;
    if (dayIndex >= this.newestDay - 1) this.salts.set(dayIndex, salt);
    for (const kept of this.salts.keys()) {
      if (kept < this.newestDay - 1) this.salts.delete(kept);
    }
    return salt;
  }

  /** Days whose salt is held in memory (at most two). */
  get daysCached(): number {
    return this.salts.size;
  }
}
