// A warning that a client would repeat with every request: one that keeps sending what Tally
// does not keep (posthog-js with session recording on posts to /s/ every few seconds for each
// open page). The first occurrence for a key (a tenant) is logged at once; later ones within
// `everyMs` are counted, and the next line says how many requests and items it stands for.
// So a log at LOG_LEVEL=warn says it once a minute per tenant, not once per request.

import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';

export interface RepeatedWarningLimits {
  /** The least time between two lines for one key. */
  everyMs: number;
  /**
   * Keys remembered at once; past it the oldest is forgotten (its counts since its last line
   * with it: that key's next occurrence is logged at once, as a first one).
   */
  keysMax: number;
}

const repeatedWarningLimits: RepeatedWarningLimits = {
  everyMs: 60_000,
  keysMax: 10_000,
};

interface Since {
  /** When the key's last line was written. */
  loggedAt: number;
  /** Requests and items since that line, not in it. */
  requests: number;
  items: number;
}

export class RepeatedWarning {
  private readonly keys = new Map<string, Since>();

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly clock: Clock,
    private readonly limits: RepeatedWarningLimits = repeatedWarningLimits,
  ) {}

  /**
   * Notes one request of `items` items for `key`; writes the warning, with `fields` and the
   * `requests` and `items` it stands for, when the key's last line is `everyMs` old or more
   * (or the clock went back), else only counts.
   */
  note(key: string, items: number, fields: Record<string, unknown>): void {
    const now = this.clock.now();
    const since = this.keys.get(key);
    const recent = since !== undefined && now >= since.loggedAt;
    if (recent && now - since.loggedAt < this.limits.everyMs) {
      since.requests++;
      since.items += items;
      return;
    }
    const requests = (since?.requests ?? 0) + 1;
    const total = (since?.items ?? 0) + items;
    this.log.warn(this.message, { ...fields, requests, items: total });
    // Re-inserted at the end: the Map's order is then the order of last lines, oldest first.
    this.keys.delete(key);
    if (this.keys.size >= this.limits.keysMax) {
      const oldest = this.keys.keys().next();
      if (oldest.done !== true) this.keys.delete(oldest.value);
    }
    this.keys.set(key, { loggedAt: now, requests: 0, items: 0 });
  }
}
