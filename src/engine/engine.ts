// Builds the engine over a data directory: the event store (recovered), the dedup index (from
// the snapshot a clean close left, else rebuilt from recent segments; plus the log), the actor
// registry and the ingestor. One call for main.ts and for tests, so both run the same wiring.
// Closing it cleanly leaves the dedup index's snapshot for the next start.

import { type Clock, type Logger, tenantShareLimits } from '../core/index.ts';
import {
  EventStore,
  type EventStoreOptions,
  type FaultHook,
  logIo,
  type StoreMark,
} from '../storage/index.ts';
import type { CountryLookup } from './country-db.ts';
import type { DedupIndex } from './dedup-index.ts';
import { ReplayedKeys, recoverDedupIndex, saveDedupIndex } from './dedup-recovery.ts';
import { Enricher } from './enrich.ts';
import { Erasures } from './erasures.ts';
import { Ingestor } from './ingest.ts';
import { MonthSecrets } from './month-secrets.ts';
import { ActorRegistry, type RegistryOptions } from './registry.ts';
import { TenantDeletions } from './tenant-deletions.ts';
import { Ticker } from './ticker.ts';

export interface EngineOptions
  extends Omit<EventStoreOptions, 'now' | 'fault'>,
    Omit<RegistryOptions, 'mailboxBytesMax'> {
  dedupWindowMs: number;
  dedupKeysMax: number;
  hotBytesMax: number;
  /** Keep client IPs in stored events (otherwise used only for visitor_id and country). */
  storeIp: boolean;
  /** Where events get their country from their client IP (GEOIP_DB); none: no country. */
  countries?: CountryLookup | null;
  clock: Clock;
  fault?: FaultHook;
  /** Told when the dedup index forgot ids early to stay within dedupKeysMax. */
  onDedupShortened?: (droppedKeys: number, rememberedSince: number) => void;
  /** Where the dedup index's snapshot says what it did (loaded, not used, written). */
  log?: Logger;
}

export interface Engine {
  /** The clock the engine stamps and expires by (EngineOptions.clock). */
  clock: Clock;
  store: EventStore;
  ingestor: Ingestor;
  registry: ActorRegistry;
  dedup: DedupIndex;
  /** Deletes a tenant's events and live state (DELETE /api/v1/projects/{id}). */
  deletions: TenantDeletions;
  /** Erases one person's events (POST /api/v1/projects/{id}/erasures). */
  erasures: Erasures;
  /**
   * A secret of the UTC month holding `atMs`, the same after a restart (month-secrets.ts): for
   * ids a compatible API derives per month.
   */
  monthSecret(name: string, atMs: number): string;
  /** Whether stored events keep the client IP (STORE_IP). */
  keepsIp: boolean;
  /** Whether events get a country from their client IP (GEOIP_DB): every event needs it. */
  locatesIp: boolean;
  close(): Promise<void>;
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { clock } = options;
  const replayed = new ReplayedKeys();
  // A fatal error (a failed log, a deletion's purge that failed after its decision, a commit
  // that could not be made readable) leaves the store in a state only a restart repairs: the
  // dedup index may no longer match it.
  let fatal: unknown = null;
  const onFatal = (error: unknown) => {
    fatal ??= error;
    options.onFatal(error);
  };
  // The log's I/O threads load before any DuckDB statement may hold Bun's shared pool, which
  // loading them takes (log-io.ts).
  await logIo.start();
  const store = await EventStore.open(
    { ...options, onFatal, now: () => clock.now() },
    replayed.onReplay,
  );
  const recovery = {
    dataDir: options.dataDir,
    windowMs: options.dedupWindowMs,
    keysMax: options.dedupKeysMax,
    onShortened: options.onDedupShortened,
    clock,
    log: options.log,
  };
  let dedup: DedupIndex;
  try {
    dedup = await recoverDedupIndex(store, replayed, recovery);
    // Cuts from the copies of damaged log bytes that deletions still owe (a crash or a failure
    // cut one short; a deleted project's name in a copy's damage waits for the operator), and
    // erasures an older Tally ended without cutting them.
    for (const left of await store.eraser.resumeCopyCuts()) {
      const held = left.erasure === undefined ? "a deleted project's records" : "a person's events";
      options.log?.warn(`damaged log copies still hold ${held}`, { ...left });
    }
  } catch (error) {
    await store.close(); // lets go of the data directory, as a failed store open does
    throw error;
  }
  const ticker = new Ticker(() => store.committer.commitQueued());
  // A tenant's share of the commit queue's bytes, so that its flood is its own 429.
  const mailboxBytesMax = Math.floor(
    options.commitQueueBytesMax * tenantShareLimits.mailboxQueueBytesShare,
  );
  const registry = new ActorRegistry(
    store,
    dedup,
    clock,
    { ...options, mailboxBytesMax, onFatal },
    ticker,
  );
  const countries = options.countries ?? null;
  const enricher = new Enricher(store.catalog, clock, options.storeIp, countries);
  const monthSecrets = new MonthSecrets(store.catalog, clock);
  const deletions = new TenantDeletions({ store, registry, dedup });
  const erasures = new Erasures({ store, registry, deletions, onFatal });
  erasures.resume();
  const ingestor = new Ingestor(
    store,
    registry,
    dedup,
    enricher,
    clock,
    { hotBytesMax: options.hotBytesMax },
    deletions,
  );
  let closing: Promise<void> | undefined;
  return {
    clock,
    store,
    ingestor,
    registry,
    dedup,
    deletions,
    erasures,
    monthSecret: (name, atMs) => monthSecrets.secretOf(name, atMs),
    keepsIp: options.storeIp,
    locatesIp: countries !== null,
    close: () => {
      // A second call waits for the first: the snapshot is written once.
      closing ??= closeEngine({ store, ingestor, deletions, failed: () => fatal }, (mark, notNow) =>
        saveDedupIndex(dedup, mark, notNow, recovery),
      );
      return closing;
    },
  };
}

/**
 * Closes the engine cleanly: ingest is refused from now on (routes stopped calling it first,
 * in main.ts), what was handed to the actors and the deletions running are finished, and the
 * store closes; `save` writes the dedup index's snapshot once the store is at rest.
 */
async function closeEngine(
  parts: {
    store: EventStore;
    ingestor: Ingestor;
    deletions: TenantDeletions;
    /** The store's fatal error, if one was reported. */
    failed: () => unknown;
  },
  save: (mark: StoreMark, notNow: string | null) => Promise<void>,
): Promise<void> {
  const { store, ingestor, deletions } = parts;
  ingestor.close();
  await ingestor.settled();
  await deletions.settled();
  await store.close((mark) => {
    // The index must not change while its snapshot is written, and hold only durable events.
    const fatal = parts.failed();
    const notNow = !store.committer.healthy
      ? 'the write-ahead log failed'
      : fatal !== null
        ? `the store failed: ${String(fatal)}`
        : deletions.size > 0 || !ingestor.idle
          ? 'work was still in flight'
          : null;
    return save(mark, notNow);
  });
}
