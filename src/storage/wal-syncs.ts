// The fdatasyncs of the write-ahead log's open file, and what one's success is worth. Linux
// reports a writeback error of a file once per open file description, to whichever fdatasync
// checks first: of two in flight on the log's descriptor (overlapping groups, or a cut's), the
// other may get the EIO of this one's pages while this one gets 0, before or after this one
// ends. So a group's bytes are durable only once its fdatasync and every one still running
// succeeded, and none failed since the log was opened: a failure is kept, and every later
// sync fails with it (the store stops, as for a failed write; the restart reads back what the
// disk really holds).

import { logIo } from './log-io.ts';

export class LogSyncs {
  /** The fdatasyncs running now. */
  private readonly running = new Set<Promise<void>>();
  /** The first that failed: nothing synced after it is known durable. */
  private failure: unknown = null;

  /** fdatasync(2) of `fd`, counted while it runs; its failure is kept (see above). */
  run(fd: number): Promise<void> {
    // On the log's own threads: Bun's pool may be held by DuckDB statements (see log-io.ts).
    const sync = logIo.fdatasync(fd);
    this.running.add(sync);
    sync.then(
      () => this.running.delete(sync),
      (error: unknown) => {
        this.failure ??= error;
        this.running.delete(sync);
      },
    );
    return sync;
  }

  /**
   * Resolves when what `fd` held before this call is durable: its own fdatasync, every one
   * still running, then no failure of any so far; else rejects with the first failure.
   */
  async durable(fd: number): Promise<void> {
    await this.run(fd);
    await Promise.all(this.running);
    if (this.failure !== null) throw this.failure;
  }
}
