// The exports being sent, so that a loss of access made through Tally (AccessLost: a read key
// revoked, a session ended, a member removed, an account deleted) stops them at once, as it
// closes live sockets, not at their next periodic check (CREDENTIALS_RECHECK_MS). Each such
// change runs one round over the exports, each asking its own credentials again; rounds are
// at least CREDENTIALS_RECHECK_SOON_MS apart (a later change waits for the next), so a stream
// of logouts cannot keep the server checking every export back to back.

import type { Auth } from '../auth/index.ts';
import { CREDENTIALS_RECHECK_SOON_MS } from '../live/index.ts';

export class ExportAccess {
  private readonly rechecks = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private roundAt = Number.NEGATIVE_INFINITY;

  constructor(accessLost: Pick<Auth['accessLost'], 'listen'> | undefined) {
    accessLost?.listen(() => this.soon());
  }

  /**
   * Calls `recheck` in the round after each loss of access, until the function returned is
   * called (once the export ended). `recheck` must not throw.
   */
  watch(recheck: () => void): () => void {
    this.rechecks.add(recheck);
    return () => this.rechecks.delete(recheck);
  }

  /** A round as soon as one may run (a real timer: the rounds are spaced in real time). */
  private soon(): void {
    if (this.timer !== null || this.rechecks.size === 0) return;
    const wait = Math.max(0, this.roundAt + CREDENTIALS_RECHECK_SOON_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.roundAt = performance.now();
      for (const recheck of [...this.rechecks]) recheck();
    }, wait);
    this.timer.unref();
  }
}
