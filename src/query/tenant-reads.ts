// How many reads of one tenant run at once in the server's DuckDB. Its threads take the tasks of
// every running query in turn, so a burst of one tenant's heavy reads (stats or series over
// millions of events) put another tenant's small read seconds behind them. Past its share a
// tenant's reads wait in a queue of their own, and past that queue they are refused (429): its
// burst delays only itself (DESIGN §1). A waiting read whose client went away (its signal
// aborts) leaves the queue at once: it never runs, and the reads behind it move up.

import { AppError } from '../core/index.ts';

export interface TenantReadLimits {
  /** Reads of one tenant running at once. */
  runningMax: number;
  /** Reads of one tenant waiting for a place; more are refused. */
  waitingMax: number;
}

interface TenantReads {
  running: number;
  /** Each waiting read's turn: called with the place the read that finished hands over. */
  waiting: (() => void)[];
}

/** The error of a read whose client went away: logged as 499, never sent. */
export function clientGone(cause?: unknown): AppError {
  return new AppError('client_closed', 'the client went away; its read was stopped', { cause });
}

export class TenantReadGate {
  private readonly tenants = new Map<string, TenantReads>();

  constructor(private readonly limits: TenantReadLimits) {}

  /** Reads of `tenant` waiting for a place now. */
  waitingOf(tenant: string): number {
    return this.tenants.get(tenant)?.waiting.length ?? 0;
  }

  /**
   * Waits for a place of `tenant` (429 when its queue is full); returns its release. Refused as
   * client_closed once `signal` aborts before a place is had, and then no place is held.
   */
  async enter(tenant: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw clientGone();
    let reads = this.tenants.get(tenant);
    if (reads === undefined) {
      reads = { running: 0, waiting: [] };
      this.tenants.set(tenant, reads);
    }
    if (reads.running < this.limits.runningMax) {
      reads.running++;
    } else if (reads.waiting.length < this.limits.waitingMax) {
      // The read that finishes hands its place over: `running` stays as it is.
      await waitTurn(reads.waiting, signal);
    } else {
      throw new AppError(
        'tenant_overloaded',
        `${this.limits.runningMax} reads of this tenant are running and ` +
          `${this.limits.waitingMax} waiting (its share); retry later`,
      );
    }
    const held = reads;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = held.waiting.shift();
      if (next !== undefined) {
        next();
        return;
      }
      held.running--;
      if (held.running === 0) this.tenants.delete(tenant);
    };
  }
}

/**
 * Resolves when a place is handed over; rejects (client_closed) when `signal` aborts first,
 * its turn taken out of `queue`. A read waits only while others of its tenant run, so the
 * tenant's entry outlives it and needs no cleanup here.
 */
function waitTurn(queue: (() => void)[], signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const turn = () => {
      signal?.removeEventListener('abort', leave);
      resolve();
    };
    const leave = () => {
      const at = queue.indexOf(turn);
      // Not queued: its place was handed over in this same turn; its caller gives it back.
      if (at === -1) return;
      queue.splice(at, 1);
      reject(clientGone());
    };
    queue.push(turn);
    signal?.addEventListener('abort', leave, { once: true });
  });
}
