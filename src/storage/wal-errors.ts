// The errors the write-ahead log (wal.ts) reports to its callers.

/** The current log file was deleted under the running process (e.g. `rm -rf $DATA_DIR/*`). */
export class WalFileDeletedError extends Error {
  override name = 'WalFileDeletedError';
}

/**
 * An append or a rotation found no room on the disk (ENOSPC or EDQUOT). Nothing of it is in the
 * log: the file was cut back to where the append began, and that cut made durable. The message
 * names no path (it reaches clients); the file system's error is the cause.
 */
export class WalDiskFullError extends Error {
  override name = 'WalDiskFullError';
  constructor(
    cause: unknown,
    /** Bytes the refused append would have written. */
    readonly bytes: number,
  ) {
    const code = (cause as { code?: unknown }).code;
    super(
      code === 'EDQUOT'
        ? "the data directory's disk quota is used up (EDQUOT on a write-ahead log write)"
        : "the data directory's disk is full (ENOSPC on a write-ahead log write)",
      { cause },
    );
  }
}
