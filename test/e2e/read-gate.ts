// Holds places of the per-tenant read gate (src/query/tenant-reads.ts: 2 reads of one tenant
// run, 32 wait, then 429 with Retry-After) on the test server's own store, so the 429s the
// browser suites meet are the server's.

import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { withSnapshot } from '../../src/query/read.ts';
import type { LiveServer } from '../live/support.ts';

/** Every place of the tenant, running and waiting: the next read is a 429. */
export const ALL_PLACES = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;

/**
 * Takes `count` read places of the default tenant until the returned release is called;
 * `cleanups` gets the release too, so a failed test frees them.
 */
export function holdReads(
  server: LiveServer,
  count: number,
  cleanups: (() => Promise<void> | void)[],
): () => Promise<void> {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = Array.from({ length: count }, () =>
    withSnapshot(server.engine.store, DEFAULT_TENANT, {}, undefined, () => released),
  );
  let done = false;
  const free = async () => {
    if (done) return;
    done = true;
    release();
    await Promise.all(held);
  };
  cleanups.push(free);
  return free;
}
