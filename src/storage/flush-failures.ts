// The flusher's failures in a row, and what /ready says of them: after
// storageLimits.flushFailuresNotReadyMin failed flushes the node is not ready. A flush fails
// either before its events reach segments (an unwritable segments directory, say: nothing
// reaches segments and the hot budget fills) or after, when the log files it flushed cannot
// be released (an unwritable `wal/`: the log grows until the disk is full). The reason says
// which, and names the error's code, never a path: it reaches unauthenticated clients.

import { storageLimits } from './limits.ts';

/** The step of a flush that failed. */
export type FlushStep = 'flush' | 'release';

export class FlushFailures {
  private inARow = 0;
  /** The system error code of the last failure (EACCES, ENOSPC…), or null. */
  private lastCode: string | null = null;
  private lastStep: FlushStep = 'flush';

  failed(error: unknown, step: FlushStep): void {
    this.inARow++;
    this.lastCode = errorCodeOf(error);
    this.lastStep = step;
  }

  succeeded(): void {
    this.inARow = 0;
  }

  /** Why the store is not ready, once enough flushes in a row failed; else null. */
  reason(): string | null {
    if (this.inARow < storageLimits.flushFailuresNotReadyMin) return null;
    const code = this.lastCode === null ? '' : ` (last: ${this.lastCode})`;
    const [what, meanwhile] =
      this.lastStep === 'release'
        ? [
            'releasing flushed write-ahead log files',
            'events reach segments, but the log grows until the disk is full',
          ]
        : ['flushing events to segments', 'events are kept in the write-ahead log'];
    return `${what} failed ${this.inARow} times in a row${code}; ${meanwhile}, see the server log`;
  }
}

/** A system error's code (`EACCES`), or null: an error's message may name a path. */
function errorCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : null;
}
