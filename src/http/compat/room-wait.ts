// Waiting for room, on the routes of clients that never resend an event (Umami's `/api/send` and
// `/api/batch`, Plausible's `/api/event`): a request the node refuses because it is momentarily
// overloaded (503 `overloaded`: the in-memory budget, the commit queue, a full disk; 429
// `tenant_overloaded`: the tenant's mailbox, or its part of a nearly full in-memory budget) tries
// again after a pause, for at most NO_RETRY_WAIT, instead of losing its page view for good when the
// next commit or flush would have made room. A refused try writes nothing, and each try hands the
// engine the same events with the same event_ids, so a try after one that was partly written is
// deduplicated, never doubled (see ingest.ts). Bounded: at most `waitingRequestsMax` requests wait
// at once (past it the refusal is answered at once), each for at most NO_RETRY_WAIT; a shutdown or
// a client that went away ends a wait within one pause. Rate limits are never waited on.

import { noRetryWaitLimits } from '../../core/index.ts';

/** One request's wait: asked before each new try, given back once the request is answered. */
export interface RoomWait {
  /**
   * Whether the request could wait now (as `next` says), taking no place: asked before its body
   * is read, so that on an overloaded node a request reads its body only while places are
   * free, and one that reads it slowly holds none meanwhile.
   */
  mayWait(isAccepting: () => boolean): boolean;
  /**
   * Pauses before the next try and says true; false, at once, when the request is to be
   * refused instead: waiting is off, its time is up, the client went away, the node is
   * stopping, or too many requests wait already.
   */
  next(isAccepting: () => boolean): Promise<boolean>;
}

/** The requests of one node waiting for room, and how long each may. */
export class RoomWaits {
  private waiting = 0;

  constructor(
    /** NO_RETRY_WAIT: how long one request waits at most; 0 turns waiting off. */
    readonly waitMs: number,
    readonly waitingMax: number = noRetryWaitLimits.waitingRequestsMax,
  ) {}

  /** Requests waiting now (holding a place). */
  get size(): number {
    return this.waiting;
  }

  /** Runs `handle` with a wait for `request`, whose place is given back once it is answered. */
  async around<T>(request: Request, handle: (wait: RoomWait) => Promise<T>): Promise<T> {
    const wait = new RequestWait(this, request.signal);
    try {
      return await handle(wait);
    } finally {
      wait.end();
    }
  }

  /** A place among the waiting requests, if one is free. */
  take(): boolean {
    if (this.waiting >= this.waitingMax) return false;
    this.waiting++;
    return true;
  }

  give(): void {
    this.waiting--;
  }
}

class RequestWait implements RoomWait {
  /** When waiting ends (performance.now()), set at the first refusal. */
  private deadline: number | null = null;
  private pauseMs: number = noRetryWaitLimits.backoffFirstMs;
  private holding = false;

  constructor(
    private readonly waits: RoomWaits,
    private readonly signal: AbortSignal,
  ) {}

  mayWait(isAccepting: () => boolean): boolean {
    if (this.waits.waitMs <= 0 || this.signal.aborted || !isAccepting()) return false;
    return this.holding || this.waits.size < this.waits.waitingMax;
  }

  async next(isAccepting: () => boolean): Promise<boolean> {
    if (!this.mayWait(isAccepting)) return false;
    const now = performance.now();
    this.deadline ??= now + this.waits.waitMs;
    const left = this.deadline - now;
    if (left <= 0) return false;
    // Held from the first pause until the request is answered: its body stays in memory.
    if (!this.holding && !this.waits.take()) return false;
    this.holding = true;
    await pause(Math.min(this.pauseMs, left), this.signal);
    this.pauseMs = Math.min(this.pauseMs * 2, noRetryWaitLimits.backoffMaxMs);
    return !this.signal.aborted;
  }

  end(): void {
    if (!this.holding) return;
    this.holding = false;
    this.waits.give();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the client went away). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
