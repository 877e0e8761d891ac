// Holding a new actor's rebuild of its live counters at chosen points (or making its read
// endless), and posting batches while it is held: for the tests of ingest during a rebuild and of
// a rebuild stopped by an eviction, an erasure's end or a tenant's deletion.

import type { TenantActor } from '../../src/engine/index.ts';
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

/** Hashes 10^12 numbers: hours of work, unless interrupted (as test/query/read-abort.test.ts). */
const ENDLESS = '(SELECT sum(hash(i)) AS s FROM range(1000000000000) r(i))';

/**
 * Makes the store's next snapshot endless to read: its events only once ENDLESS is done. Tells
 * `started` once a statement is submitted on it, counts the interrupts of its connection, and
 * tells `released` once it is let go. `abandon` interrupts it from outside (a test's cleanup,
 * when nothing did: the store closes only once every snapshot is released).
 */
export function endlessNextSnapshot(app: TestApp) {
  const { store } = app.engine;
  const real = store.snapshot.bind(store);
  const started = gate();
  const released = gate();
  let interrupts = 0;
  let abandon = () => {};
  store.snapshot = async (tenant, range): Promise<EventSnapshot> => {
    store.snapshot = real;
    const snapshot = await real(tenant, range);
    const { connection } = snapshot;
    const outside = connection.interrupt.bind(connection);
    abandon = () => outside();
    const stream = connection.stream.bind(connection);
    connection.stream = (...args: Parameters<typeof stream>) => {
      started.open();
      return stream(...args);
    };
    const interrupt = connection.interrupt.bind(connection);
    connection.interrupt = () => {
      interrupts++;
      interrupt();
    };
    return {
      ...snapshot,
      from: `(SELECT e.* FROM ${snapshot.from} AS e, ${ENDLESS} AS x WHERE x.s IS NOT NULL)`,
      release: () => {
        snapshot.release();
        released.open();
      },
    };
  };
  return {
    started: started.opened,
    released: released.opened,
    interrupts: () => interrupts,
    abandon: () => {
      store.snapshot = real;
      abandon();
    },
  };
}

/** What `promise` resolves to, or 'waited' when it has not within a few seconds. */
export function soon<T>(promise: Promise<T>): Promise<T | 'waited'> {
  const late = Bun.sleep(5000).then(() => 'waited' as const);
  return Promise.race([promise, late]);
}

/**
 * Starts a GET of `tenant`'s latest `temperature` point and resolves once it waits for
 * `actor`'s rebuild (its whenReady): the response, still to come, is `latest`.
 */
export async function latestWaitingOn(app: TestApp, actor: TenantActor, tenant: string) {
  const whenReady = actor.whenReady.bind(actor);
  let waiting = false;
  actor.whenReady = () => {
    waiting = true;
    return whenReady();
  };
  const latest = app.get(`/api/v1/metrics/latest/temperature?tenant_id=${tenant}`);
  while (!waiting) await Bun.sleep(1);
  return { latest };
}
