// How many messages one live socket may send: a bucket of `clientMessageBurstMax` that refills
// one message every `clientMessageIntervalMs` on the hub's clock. A subscribe can cost a
// snapshot of the tenant's rollups (1–4 ms for a busy tenant, on the event loop every tenant
// shares), so an unbounded stream of them from one client would stall the server; past the
// budget the hub closes the socket (1008) instead of answering.

import type { LiveLimits } from './limits.ts';

export type MessageBudgetLimits = Pick<
  LiveLimits,
  'clientMessageBurstMax' | 'clientMessageIntervalMs'
>;

export class MessageBudget {
  private messages: number;
  private atMs: number;

  constructor(
    private readonly limits: MessageBudgetLimits,
    nowMs: number,
  ) {
    this.messages = limits.clientMessageBurstMax;
    this.atMs = nowMs;
  }

  /** Spends one message sent at `nowMs`; false when none is left. */
  take(nowMs: number): boolean {
    const { clientMessageBurstMax, clientMessageIntervalMs } = this.limits;
    // A clock that stepped back refills nothing, and counts on from its new time.
    const regained = Math.max(0, nowMs - this.atMs) / clientMessageIntervalMs;
    this.messages = Math.min(clientMessageBurstMax, this.messages + regained);
    this.atMs = nowMs;
    if (this.messages < 1) return false;
    this.messages -= 1;
    return true;
  }

  /** The close reason of a socket past its budget. */
  reason(): string {
    const { clientMessageBurstMax, clientMessageIntervalMs } = this.limits;
    return (
      `too many messages: at most ${clientMessageBurstMax} at once, ` +
      `then one every ${clientMessageIntervalMs} ms`
    );
  }
}
