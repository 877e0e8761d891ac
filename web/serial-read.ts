// One read of a kind in flight per tab. The server runs 2 reads of a project at once and
// queues 32 (then 429), so a tab's selector changes and refreshes must not each take a place:
// a change while a read is in flight asks for one more read, of the selectors then, sent once
// it ends; a periodic refresh is dropped while one is in flight or waits out a busy server; a
// read the server could not take (429/503) is tried again after its Retry-After, by itself.

/** What a read did: shown (or failed for good), or refused for now and to be retried. */
export type ReadOutcome = { kind: 'done' } | { kind: 'busy'; retryAfterMs: number };

/**
 * `read` performs one read and shows it; `superseded()` tells it that another read was asked
 * for meanwhile, so its answer (for selectors no longer chosen) must not be shown.
 */
export type Read = (superseded: () => boolean) => Promise<ReadOutcome>;

/** Timers of the retries: the page's own, or a test's. */
export interface RetryTimer {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const browserTimer: RetryTimer = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class SerialRead {
  private loading = false;
  private again = false;
  private retry: unknown = null;

  constructor(
    private readonly read: Read,
    private readonly timer: RetryTimer = browserTimer,
  ) {}

  /** Whether a read is in flight or waits for its retry. */
  get pending(): boolean {
    return this.loading || this.retry !== null;
  }

  /**
   * A read of the selectors now: at once for a change (or right after the read in flight),
   * and for a refresh only when nothing is in flight or waiting for a retry.
   */
  async request(why: 'changed' | 'refresh'): Promise<void> {
    if (why === 'refresh' && this.pending) return;
    this.cancelRetry();
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    let outcome: ReadOutcome;
    try {
      outcome = await this.read(() => this.again);
    } finally {
      this.loading = false;
    }
    if (this.again) {
      this.again = false;
      void this.request('changed');
    } else if (outcome.kind === 'busy') {
      this.retry = this.timer.set(() => {
        this.retry = null;
        void this.request('changed');
      }, outcome.retryAfterMs);
    }
  }

  /** Drops a waiting retry (the page was locked: the next start reads afresh). */
  cancelRetry(): void {
    if (this.retry !== null) this.timer.clear(this.retry);
    this.retry = null;
  }
}
