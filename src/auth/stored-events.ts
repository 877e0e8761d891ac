// Whether a tenant already holds stored events. Auth asks before a project claims a tenant id,
// so that a self-registered user cannot take over events ingested earlier (in AUTH_MODE=open,
// or behind a proxy that authenticated). Composed from the store's public parts: the catalog's
// segments first (one SQLite lookup, answered synchronously), then, only when the tenant has no
// segment, its unflushed events through a snapshot (DuckDB).

import type { Catalog, EventSource } from '../storage/index.ts';

/** True when `tenant` holds at least one stored event (flushed or not). */
export type TenantHoldsEvents = (tenant: string) => boolean | Promise<boolean>;

export interface StoredEvents extends EventSource {
  catalog: Pick<Catalog, 'segmentsOf'>;
}

/** The probe main.ts gives createAuth: `storedEventsProbe(engine.store)`. */
export function storedEventsProbe(store: StoredEvents): TenantHoldsEvents {
  return (tenant) => store.catalog.segmentsOf(tenant).length > 0 || anyEventIn(store, tenant);
}

async function anyEventIn(source: EventSource, tenant: string): Promise<boolean> {
  const snapshot = await source.snapshot(tenant);
  try {
    const result = await snapshot.connection.runAndReadAll(
      `SELECT 1 FROM ${snapshot.allFrom} AS e LIMIT 1`,
      snapshot.params,
    );
    return result.getRows().length > 0;
  } finally {
    snapshot.release();
  }
}
