// fdatasync(2) of the write-ahead log held by a test: each call waits until the test lets it
// run, or makes it report a writeback error (EIO) without running, as the kernel may to any
// fdatasync of a file. The log syncs on its own threads (src/storage/log-io.ts): those calls
// are the ones held.

import { spyOn } from 'bun:test';
import { logIo } from '../../src/storage/log-io.ts';

/**
 * Holds every fdatasync(2) of the log until `release(i, error)`: with null it then runs, else
 * it reports `error` (a writeback error) without running.
 */
export function holdFdatasyncs() {
  const real = logIo.fdatasync.bind(logIo);
  const held: ((error: Error | null) => void)[] = [];
  const spy = spyOn(logIo, 'fdatasync').mockImplementation(
    (fd: number) =>
      new Promise<void>((resolve, reject) => {
        held.push((error) => (error === null ? real(fd).then(resolve, reject) : reject(error)));
      }),
  );
  return {
    held,
    release: (i: number, error: Error | null) => held[i]?.(error),
    restore: () => spy.mockRestore(),
  };
}
