// Secrets of a UTC calendar month, for ids a compatible API derives per month (Umami's
// sessions are per website, visitor and month): drawn the first time a month is asked and kept
// in the catalog, so a restart derives the same ids; those of months before the previous one
// are forgotten, as the daily salts of visitor ids are (visitor-id.ts), so nothing links a
// visitor's months once they are over. A month outside that window (a backfill's, or one past
// any time an event may have, which an item can name before its event is refused) has a
// secret of this run only, derived from a key drawn at start: never written, and the same for
// the whole run, however many other months are asked in between.

import { createHmac, randomBytes } from 'node:crypto';
import { type Clock, eventLimits } from '../core/index.ts';

export interface MonthSecretCatalog {
  monthSecret(name: string, month: string, keepFromMonth: string, draw: () => string): string;
}

/** Bytes of a drawn secret (hex in the catalog). */
const SECRET_BYTES = 32;
/** Secrets held in memory, the latest asked; another is read from the catalog. */
const MONTH_SECRETS_CACHED_MAX = 4;

/** The UTC month holding `ms`, `YYYY-MM`. */
function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export class MonthSecrets {
  private readonly cached = new Map<string, string>();
  /** The key of the secrets of months outside the kept window, for this run only. */
  private readonly runKey = randomBytes(SECRET_BYTES);

  constructor(
    private readonly catalog: MonthSecretCatalog,
    private readonly clock: Clock,
  ) {}

  /** The secret `name` of the UTC month holding `atMs`. */
  secretOf(name: string, atMs: number): string {
    const month = utcMonth(atMs);
    const key = `${name}\0${month}`;
    const held = this.cached.get(key);
    if (held !== undefined) return held;
    const nowMs = this.clock.now();
    const now = new Date(nowMs);
    const previous = utcMonth(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    // No event is stored after this month (eventLimits.futureSkewMs): a later one's row would
    // stay for good, one a month up to 9999; an earlier one's would go at the next month asked.
    const latest = utcMonth(nowMs + eventLimits.futureSkewMs);
    if (month < previous || month > latest) {
      return createHmac('sha256', this.runKey).update(key).digest('hex');
    }
    const secret = this.catalog.monthSecret(name, month, previous, drawSecret);
    this.cached.set(key, secret);
    if (this.cached.size > MONTH_SECRETS_CACHED_MAX) {
      this.cached.delete(this.cached.keys().next().value as string);
    }
    return secret;
  }
}

function drawSecret(): string {
  return randomBytes(SECRET_BYTES).toString('hex');
}
