// How many reads of one tenant run at once in the server's DuckDB. Its threads take the tasks of
// every running query in turn, so a burst of one tenant's heavy reads (stats or series over
// millions of events) put another tenant's small read seconds behind them. Past its share a
// tenant's reads wait in a queue of their own, and past that queue they are refused (429): its
// burst delays only itself (DESIGN §1).

import { AppError } from '../core/index.ts';

export interface TenantReadLimits {
  /** Reads of one tenant running at once. */
  runningMax: number;
  /** Reads of one tenant waiting for a place; more are refused. */
  waitingMax: number;
}

interface TenantReads {
  running: number;
  waiting: (() => void)[];
}

export class TenantReadGate {
  private readonly tenants = new Map<string, TenantReads>();

  constructor(private readonly limits: TenantReadLimits) {}

  /** Waits for a place of `tenant` (429 when its queue is full); returns its release. */
  async enter(tenant: string): Promise<() => void> {
    let reads = this.tenants.get(tenant);
    if (reads === undefined) {
      reads = { running: 0, waiting: [] };
      this.tenants.set(tenant, reads);
    }
    if (reads.running < this.limits.runningMax) {
      reads.running++;
    } else if (reads.waiting.length < this.limits.waitingMax) {
      const queue = reads.waiting;
      // The read that finishes hands its place over: `running` stays as it is.
      await new Promise<void>((resolve) => queue.push(resolve));
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
