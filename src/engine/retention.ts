// Data retention: each tenant keeps the whole UTC days from today − its retention days on; the
// days strictly older are deleted, whole partitions at a time (DESIGN.md §3), by the store's
// RetentionEraser (one catalog transaction, then the files retired). A tenant's days are its
// project's `retention_days`, else the server's RETENTION_DAYS; 0 keeps everything. The pass
// runs at start and then every retentionPassIntervalMs (background.ts); it logs one line per
// tenant whose days it deleted. Events that arrive late for a day already past retention are
// stored and flushed as usual, and deleted by the next pass.

import { type Clock, DAY_MS, type Logger, utcDay } from '../core/index.ts';
import type { Catalog, DroppedDays, RetentionEraser } from '../storage/index.ts';

export interface RetentionOptions {
  /** RETENTION_DAYS: the days a tenant keeps when its project sets none; 0 keeps all. */
  defaultDays: number;
  /** The projects that set their own retention: tenant → days (0: forever). */
  overrides: () => ReadonlyMap<string, number>;
  clock: Clock;
  log: Logger;
}

export interface RetentionStore {
  catalog: Pick<Catalog, 'oldestDays'>;
  retention: Pick<RetentionEraser, 'dropDaysBefore'>;
}

/** One tenant's days deleted by a pass. */
export interface RetentionDrop extends DroppedDays {
  tenant: string;
  /** The days the tenant keeps, and the first day kept (today − days). */
  retentionDays: number;
  keptFromDay: string;
}

export class RetentionPass {
  private running: Promise<RetentionDrop[]> | null = null;
  private lastRunAtMs: number | null = null;

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

  private async runOnce(): Promise<RetentionDrop[]> {
    const { clock, log, defaultDays } = this.options;
    const startedAt = clock.now();
    const overrides = this.options.overrides();
    const drops: RetentionDrop[] = [];
    for (const [tenant, oldestDay] of this.store.catalog.oldestDays()) {
      const retentionDays = overrides.get(tenant) ?? defaultDays;
      if (retentionDays === 0) continue;
      const keptFromDay = utcDay(startedAt - retentionDays * DAY_MS);
      if (oldestDay >= keptFromDay) continue;
      const dropped = await this.store.retention.dropDaysBefore(tenant, keptFromDay);
      if (dropped === null) continue;
      drops.push({ tenant, retentionDays, keptFromDay, ...dropped });
      log.info('retention deleted days', {
        tenant,
        from_day: dropped.fromDay,
        to_day: dropped.toDay,
        retention_days: retentionDays,
        segments: dropped.segments,
        events: dropped.events,
        bytes: dropped.bytes,
      });
      if (dropped.filesPending !== null) {
        // The events are unreadable all the same; the files go at the next retire or start.
        log.warn('files past retention could not be removed yet', {
          tenant,
          error: dropped.filesPending,
        });
      }
    }
    this.lastRunAtMs = startedAt;
    return drops;
  }
}
