// Holding a new actor's rebuild of its live counters at chosen points, and posting batches while
// it is held: for the tests of ingest during a rebuild and of a rebuild stopped by an eviction.

import type { EventSnapshot } from '../../src/storage/index.ts';
import type { TestApp } from './app.ts';

/** `n` events of `tenant` named `${tag}-i`: page views of two paths, and a metric point. */
export const batch = (tenant: string, tag: string, n: number) => ({
  events: Array.from({ length: n }, (_, i) => ({
    event_id: `${tag}-${i}`,
    name: i === 0 ? 'temperature' : 'page_view',
    path: `/${i % 2}`,
    tenant_id: tenant,
    user_id: `${tag}-u${i}`,
    ...(i === 0 ? { value: tag.length * 10 + n } : {}),
  })),
});

export interface Gate {
  open(): void;
  opened: Promise<void>;
}

export function gate(): Gate {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/**
 * Holds the store's next snapshot (the rebuild's read of recent events) twice: before it is
 * taken, until `taking` opens, and after, until `reading` opens; `taken` resolves between.
 * `fail` makes it fail once `taking` opens, as DuckDB out of memory would.
 */
export function holdNextSnapshot(app: TestApp) {
  const { store } = app.engine;
  const real = store.snapshot.bind(store);
  const taking = gate();
  const reading = gate();
  const taken = gate();
  let held = false;
  let failure: Error | null = null;
  store.snapshot = async (tenant, range): Promise<EventSnapshot> => {
    if (held) return real(tenant, range);
    held = true;
    await taking.opened;
    if (failure !== null) throw failure;
    const snapshot = await real(tenant, range);
    taken.open();
    await reading.opened;
    return snapshot;
  };
  const restore = () => {
    store.snapshot = real;
    taking.open();
    reading.open();
  };
  const fail = (error: Error) => {
    failure = error;
    taking.open();
  };
  return { taking, reading, taken: taken.opened, restore, fail };
}

/** The status of a POST, or 'waited' when it was not answered within a few seconds. */
export async function statusSoon(app: TestApp, body: unknown): Promise<number | 'waited'> {
  app.clock.advance(1000); // each batch a second after the last: its metric point the latest
  const res = app.post('/api/v1/events/batch', body);
  const late = Bun.sleep(5000).then(() => 'waited' as const);
  const answered = await Promise.race([res, late]);
  return answered === 'waited' ? answered : answered.status;
}
