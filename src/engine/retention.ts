// Data retention: each tenant keeps the whole UTC days from today − its retention days on; the
// days strictly older are deleted, whole partitions at a time (DESIGN.md §3), by the store's
// RetentionEraser (one catalog transaction, then the files retired). A tenant's days are its
// project's `retention_days`, else the server's RETENTION_DAYS; 0 keeps everything. The pass
// runs at start and then every retentionPassIntervalMs (background.ts); it logs one line per
// tenant whose days it deleted. Events that arrive late for a day already past retention are
// stored and flushed as usual, and deleted by the next pass. A pass that deleted days lets the
// write-ahead log files holding their records go once it has gone through every tenant, and
// each pass cuts the events past retention from the copies of damaged log bytes a start kept.

import { type Clock, DAY_MS, type Logger, utcDay } from '../core/index.ts';
import type { Catalog, DroppedDays, RetentionEraser } from '../storage/index.ts';

export interface RetentionOptions {
  /** RETENTION_DAYS: the days a tenant keeps when its project sets none; 0 keeps all. */
  defaultDays: number;
  /** The days `tenant`'s project keeps (0: forever); null when it sets none or has no project. */
  projectDays: (tenant: string) => number | null;
  clock: Clock;
  log: Logger;
  /**
   * Told of each tenant whose days a pass deleted, so that its live rollups are rebuilt from
   * the store (registry.rebuild): else they would go on counting the deleted days' late events
   * and showing their metric points until the actor idles out.
   */
  onDaysDropped?: (tenant: string) => void;
}

export interface RetentionStore {
  catalog: Pick<Catalog, 'oldestDays'>;
  retention: Pick<RetentionEraser, 'dropDaysBefore' | 'releaseLog' | 'cutCopies'>;
}

/** The days a tenant keeps, and the first day kept (today − days). */
interface Kept {
  retentionDays: number;
  keptFromDay: string;
}

/** One tenant's days deleted by a pass. */
export interface RetentionDrop extends DroppedDays, Kept {
  tenant: string;
}

export class RetentionPass {
  private running: Promise<RetentionDrop[]> | null = null;
  private lastRunAtMs: number | null = null;
  private stopping = false;

  constructor(
    private readonly store: RetentionStore,
    private readonly options: RetentionOptions,
  ) {}

  /** RETENTION_DAYS, as the server status shows it. */
  get defaultDays(): number {
    return this.options.defaultDays;
  }

  /** When the last pass that finished began (clock ms); null before the first. */
  get lastRunAt(): number | null {
    return this.lastRunAtMs;
  }

  /** Runs one pass (or joins the one running); returns what it deleted. */
  run(): Promise<RetentionDrop[]> {
    if (this.stopping) return Promise.resolve([]);
    if (this.running === null) {
      this.running = this.runOnce().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Resolves once no pass is running (whatever its outcome). */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /**
   * Shutdown: a running pass ends once the tenant it is deleting is done (its catalog step and
   * files go together), not after every tenant; no pass starts after. The next start goes on.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.settled();
  }

  private async runOnce(): Promise<RetentionDrop[]> {
    const startedAt = this.options.clock.now();
    const drops: RetentionDrop[] = [];
    try {
      for (const [tenant, oldestDay] of this.store.catalog.oldestDays()) {
        if (this.stopping) break;
        let kept = this.keptOf(tenant, startedAt);
        if (kept === null || oldestDay >= kept.keptFromDay) continue;
        // Asked again as the deletion is decided: its project may keep more days by then.
        const dropped = await this.store.retention.dropDaysBefore(tenant, () => {
          kept = this.keptOf(tenant, startedAt);
          return kept?.keptFromDay ?? null;
        });
        if (dropped === null || kept === null) continue;
        const drop: RetentionDrop = { tenant, ...kept, ...dropped };
        drops.push(drop);
        this.report(drop);
        this.options.onDaysDropped?.(tenant);
      }
    } finally {
      // Once for the pass (after a stop or a failed tenant too): their days' log records go.
      if (drops.length > 0) await this.releaseLog();
    }
    // Every pass, not only one that deleted days: a stop may have come between the two.
    if (!this.stopping) await this.cutCopies(startedAt);
    this.lastRunAtMs = startedAt;
    return drops;
  }

  private async releaseLog(): Promise<void> {
    const pending = await this.store.retention.releaseLog();
    if (pending === null) return;
    // Deleted all the same: replay skips their records; the files go later.
    this.options.log.warn('log files past retention could not be removed yet', { error: pending });
  }

  private async cutCopies(now: number): Promise<void> {
    const keptFrom = (tenant: string) => this.keptOf(tenant, now)?.keptFromDay ?? null;
    const pending = await this.store.retention.cutCopies(keptFrom);
    if (pending === null) return;
    // Tried again at the next pass.
    this.options.log.warn('damaged log copies past retention could not be cut yet', {
      error: pending,
    });
  }

  /** What `tenant` keeps at `now`: its project's days, else RETENTION_DAYS; null keeps all. */
  private keptOf(tenant: string, now: number): Kept | null {
    const retentionDays = this.options.projectDays(tenant) ?? this.options.defaultDays;
    if (retentionDays === 0) return null;
    return { retentionDays, keptFromDay: utcDay(now - retentionDays * DAY_MS) };
  }

  /** One line per tenant whose days went; a warning when some files stay for now. */
  private report(drop: RetentionDrop): void {
    const { log } = this.options;
    log.info('retention deleted days', {
      tenant: drop.tenant,
      from_day: drop.fromDay,
      to_day: drop.toDay,
      retention_days: drop.retentionDays,
      segments: drop.segments,
      events: drop.events,
      bytes: drop.bytes,
    });
    if (drop.filesPending !== null) {
      // The events are unreadable all the same; the files go at the next retire or start.
      log.warn('files past retention could not be removed yet', {
        tenant: drop.tenant,
        error: drop.filesPending,
      });
    }
  }
}
