// fdatasync(2) held by a test: each call waits until the test lets it run, or makes it report
// a writeback error (EIO) without running, as the kernel may to any fdatasync of a file.

import { spyOn } from 'bun:test';
import * as fs from 'node:fs';

/**
 * Holds every fdatasync(2) of the process until `release(i, error)`: with null it then runs,
 * else it reports `error` (a writeback error) without running.
 */
export function holdFdatasyncs() {
  const real = fs.fdatasync;
  const held: ((error: Error | null) => void)[] = [];
  const spy = spyOn(fs, 'fdatasync').mockImplementation(((
    fd: number,
    done: (error: Error | null) => void,
  ) => {
    held.push((error) => (error === null ? real(fd, done) : done(error)));
  }) as unknown as typeof fs.fdatasync);
  return {
    held,
    release: (i: number, error: Error | null) => held[i]?.(error),
    restore: () => spy.mockRestore(),
  };
}
