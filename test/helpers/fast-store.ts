// Settings that make a spawned server flush every 100 ms and merge every 250 ms as soon as two
// segments of a day exist, whatever their size: the crash tests' kills then land in flushes
// and compactions within a second of traffic; and the checks they make across restarts.

import { expect } from 'bun:test';
import { type RunningServer, startServer } from './server.ts';

export const FAST_FLUSH_ENV: Readonly<Record<string, string>> = {
  FLUSH_INTERVAL: '100ms',
  COMPACT_INTERVAL: '250ms',
  COMPACT_SEGMENTS_MIN: '2',
  SMALL_SEGMENT_BYTES_MAX: String(1 << 30),
};

/**
 * The crash tests' checks once a killed server's data directory `dir` is started again:
 * `check` on the restarted server, again once its flushes and merges ran (the log's replayed
 * events among them), and again after a clean restart (SIGTERM, exit 0), told which it is.
 */
export async function checkAfterRestarts(
  dir: string,
  check: (server: RunningServer, when: string) => Promise<void>,
): Promise<void> {
  let server = await startServer(dir, FAST_FLUSH_ENV);
  await check(server, 'after the crash');
  await Bun.sleep(1_000);
  await check(server, 'after flushes since the restart');
  server.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  server = await startServer(dir, FAST_FLUSH_ENV);
  await check(server, 'after a clean restart');
  server.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}
