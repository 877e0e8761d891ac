// Builds the engine over a data directory: the event store (recovered), the dedup index
// (rebuilt from the log and recent segments), the actor registry and the ingestor. One call
// for main.ts and for tests, so both run the same wiring.

import { type Clock, type StoredEvent, tenantShareLimits } from '../core/index.ts';
import { EventStore, type EventStoreOptions, type FaultHook } from '../storage/index.ts';
import { DedupIndex } from './dedup-index.ts';
import { Enricher } from './enrich.ts';
import { Ingestor } from './ingest.ts';
import { ActorRegistry, type RegistryOptions } from './registry.ts';
import { TenantDeletions } from './tenant-deletions.ts';
import { Ticker } from './ticker.ts';

export interface EngineOptions
  extends Omit<EventStoreOptions, 'now' | 'fault'>,
    Omit<RegistryOptions, 'mailboxBytesMax'> {
  dedupWindowMs: number;
  dedupKeysMax: number;
  hotBytesMax: number;
  /** Keep client IPs in stored events (otherwise used only for visitor_id). */
  storeIp: boolean;
  clock: Clock;
  fault?: FaultHook;
  /** Told when the dedup index forgot ids early to stay within dedupKeysMax. */
  onDedupShortened?: (droppedKeys: number, rememberedSince: number) => void;
}

export interface Engine {
  store: EventStore;
  ingestor: Ingestor;
  registry: ActorRegistry;
  dedup: DedupIndex;
  /** Deletes a tenant's events and live state (DELETE /api/v1/projects/{id}). */
  deletions: TenantDeletions;
  /** Whether stored events keep the client IP (STORE_IP). */
  keepsIp: boolean;
  close(): Promise<void>;
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { clock } = options;
  const dedup = new DedupIndex({
    windowMs: options.dedupWindowMs,
    keysMax: options.dedupKeysMax,
    onShortened: options.onDedupShortened,
  });
  const now = clock.now();
  const remember = (tenant: string, eventId: string, receivedAt: number) => {
    const key = dedup.keyOf(tenant, eventId);
    if (!dedup.isExpired(receivedAt, now) && !dedup.has(key)) dedup.add(key, receivedAt);
  };
  const store = await EventStore.open({ ...options, now: () => clock.now() }, (_seq, lines) => {
    for (const line of lines) {
      const e = JSON.parse(line) as StoredEvent;
      remember(e.tenant, e.event_id, e.received_at);
    }
  });
  const since = options.dedupWindowMs === 0 ? 0 : now - options.dedupWindowMs;
  try {
    for (const k of await store.segmentKeysSince(since))
      remember(k.tenant, k.event_id, k.received_at);
  } catch (error) {
    await store.close(); // lets go of the data directory, as a failed store open does
    throw error;
  }
  const ticker = new Ticker(() => store.committer.commitQueued());
  // A tenant's share of the commit queue's bytes, so that its flood is its own 429.
  const mailboxBytesMax = Math.floor(
    options.commitQueueBytesMax * tenantShareLimits.mailboxQueueBytesShare,
  );
  const registry = new ActorRegistry(store, dedup, clock, { ...options, mailboxBytesMax }, ticker);
  const enricher = new Enricher(store.catalog, clock, options.storeIp);
  const deletions = new TenantDeletions({ store, registry, dedup });
  const ingestor = new Ingestor(
    store,
    registry,
    dedup,
    enricher,
    clock,
    { hotBytesMax: options.hotBytesMax },
    deletions,
  );
  return {
    store,
    ingestor,
    registry,
    dedup,
    deletions,
    keepsIp: options.storeIp,
    close: async () => {
      // Routes stop calling ingest first (main.ts); what was handed to the actors is committed.
      await ingestor.settled();
      await store.close();
    },
  };
}
