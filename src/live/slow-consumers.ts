// Slow consumers: the live sockets closed (1013) for the bytes they hold unsent, one holding
// more than wsBufferedBytesMax or, while all of them together hold more than the server's
// budget (wsBufferedBytesTotalMax), those holding the most until the rest fit. A socket's own
// limit bounds what one client costs, not what thousands that never read cost together (one
// read key may open LIVE_SUBSCRIBERS_MAX of them, ~49 GiB at 1 MiB each); the budget bounds
// that, and closing the largest holders first keeps the clients that read.
// A socket's bytes are what Bun's getBufferedAmount said when last measured: after each send to
// it and each publish or heartbeat on its tenant's topics (the only times they grow). A socket
// that drained since still counts its last measure, so the sum can only be too high: once it
// passes the budget every socket is measured again before any is closed.

import type { Logger } from '../core/index.ts';
import { CLOSE_TRY_AGAIN_LATER } from './close-codes.ts';
import { type Connection, SOCKET_OPEN } from './feed.ts';
import type { LiveLimits } from './limits.ts';
import type { LiveCounts } from './stats.ts';

export type BufferLimits = Pick<LiveLimits, 'wsBufferedBytesMax' | 'wsBufferedBytesTotalMax'>;

/** What closing slow consumers reads and calls on the hub. */
export interface SlowConsumerDeps {
  limits: BufferLimits;
  counts: Pick<LiveCounts, 'slowConsumersClosed' | 'closedSends'>;
  log: Logger;
  /** Every socket the hub holds. */
  all: () => Iterable<Connection>;
  /** Forgets a socket (LiveHub.close), which forgets its bytes here too. */
  forget: (conn: Connection) => void;
}

export class SlowConsumers {
  /** Each socket's bytes when last measured (sockets that held none are left out). */
  private readonly held = new Map<Connection, number>();
  private total = 0;

  constructor(private readonly deps: SlowConsumerDeps) {}

  /**
   * Measures `conns` (sockets just sent to) and closes those over their own limit; then, while
   * the sum is over the budget, measures every socket again and closes the largest holders.
   */
  check(conns: Iterable<Connection>): void {
    const { wsBufferedBytesMax, wsBufferedBytesTotalMax } = this.deps.limits;
    const slow: Connection[] = [];
    for (const conn of conns) if (this.measure(conn) > wsBufferedBytesMax) slow.push(conn);
    for (const conn of slow) this.close(conn, wsBufferedBytesMax);
    if (this.total <= wsBufferedBytesTotalMax) return;
    for (const conn of this.deps.all()) this.measure(conn);
    const largest = [...this.held].sort((a, b) => b[1] - a[1]);
    for (const [conn] of largest) {
      if (this.total <= wsBufferedBytesTotalMax) break;
      this.close(conn, null);
    }
  }

  /** A send to `conn` was dropped: it is closed (or, closed already, forgotten). */
  dropped(conn: Connection): void {
    this.close(conn, this.deps.limits.wsBufferedBytesMax);
  }

  /** Forgets a closed socket's bytes (Bun frees them with it). Safe to call more than once. */
  forget(conn: Connection): void {
    this.total -= this.held.get(conn) ?? 0;
    this.held.delete(conn);
  }

  private measure(conn: Connection): number {
    const bytes = conn.open ? conn.socket.getBufferedAmount() : 0;
    this.forget(conn);
    if (bytes > 0) {
      this.held.set(conn, bytes);
      this.total += bytes;
    }
    return bytes;
  }

  /** Closes `conn` (1013) past its own limit, or past the server's budget (`limit` null). */
  private close(conn: Connection, limit: number | null): void {
    const { counts, log, limits } = this.deps;
    this.deps.forget(conn);
    // A socket that closed before its close event reached the hub drops what it is sent: it
    // is gone, not slow (the close event, when it comes, finds it forgotten).
    if (conn.socket.readyState !== SOCKET_OPEN) {
      counts.closedSends++;
      return;
    }
    const buffered = conn.socket.getBufferedAmount();
    counts.slowConsumersClosed++;
    log.warn('live: closing a slow consumer', {
      tenant: conn.tenant,
      buffered_bytes: buffered,
      ...(limit === null
        ? { server_limit_bytes: limits.wsBufferedBytesTotalMax }
        : { limit_bytes: limit }),
    });
    conn.socket.close(CLOSE_TRY_AGAIN_LATER, `slow consumer: ${buffered} bytes queued`);
  }
}
