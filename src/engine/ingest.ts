// The ingest path after validation: deduplicate by (tenant, event_id), group-commit the new
// events to the write-ahead log, then make them readable. A request is acknowledged only after
// its events are durable; duplicates are reported, never stored twice. Overload is a returned
// outcome so the HTTP layer can answer 503 with Retry-After.

import * as path from 'node:path';
import { assert, type Clock, eventKey, type StoredEvent } from '../core/index.ts';
import {
  checkDisk,
  type DiskStatus,
  type Durability,
  GroupCommitter,
  type WalRecord,
  WriteAheadLog,
} from '../storage/index.ts';
import { DedupIndex } from './dedup-index.ts';
import { costOf, HotStore } from './hot-store.ts';

export interface IngestorOptions {
  dataDir: string;
  durability: Durability;
  dedupWindowMs: number;
  dedupKeysMax: number;
  commitQueueEventsMax: number;
  commitQueueBytesMax: number;
  hotBytesMax: number;
  walFileBytesMax: number;
  diskFreeBytesMin: number;
  clock: Clock;
  onFatal: (error: unknown) => void;
}

export type EventStatus = 'accepted' | 'duplicate';

export interface EventResult {
  event_id: string;
  status: EventStatus;
}

export type IngestOutcome =
  | { kind: 'ok'; results: EventResult[]; accepted: number; duplicates: number }
  | { kind: 'overloaded'; reason: string };

/** How long a disk check stays valid before ingest looks again. */
const DISK_CHECK_INTERVAL_MS = 1000;

export class Ingestor {
  private readonly dedup: DedupIndex;
  private readonly hot = new HotStore();
  private readonly wal: WriteAheadLog;
  private readonly committer: GroupCommitter;
  private disk: DiskStatus | null = null;
  private diskCheckedAt = 0;

  constructor(private readonly options: IngestorOptions) {
    this.dedup = new DedupIndex({ windowMs: options.dedupWindowMs, keysMax: options.dedupKeysMax });
    const now = options.clock.now();
    this.wal = WriteAheadLog.open(
      {
        dir: path.join(options.dataDir, 'wal'),
        fileBytesMax: options.walFileBytesMax,
        durability: options.durability,
      },
      (record) => this.replay(record, now),
    );
    this.committer = new GroupCommitter(this.wal, {
      queueEventsMax: options.commitQueueEventsMax,
      queueBytesMax: options.commitQueueBytesMax,
      onFatal: options.onFatal,
    });
  }

  /**
   * Stores `events` (already validated; `lines[i]` is the JSON of `events[i]`) exactly once each.
   * Resolves after the new ones are durable and readable.
   */
  async ingest(events: readonly StoredEvent[], lines: readonly string[]): Promise<IngestOutcome> {
    assert(events.length === lines.length, 'one encoded line per event');
    const refusal = this.refusal(events.length, lines);
    if (refusal !== null) return { kind: 'overloaded', reason: refusal };

    const results: EventResult[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as StoredEvent;
      const key = eventKey(e.tenant, e.event_id);
      if (this.dedup.has(key)) {
        results.push({ event_id: e.event_id, status: 'duplicate' });
        continue;
      }
      this.dedup.add(key, e.received_at);
      fresh.push(i);
      results.push({ event_id: e.event_id, status: 'accepted' });
    }
    const duplicates = events.length - fresh.length;
    if (fresh.length === 0) {
      await this.committer.barrier();
      return { kind: 'ok', results, accepted: 0, duplicates };
    }
    const payload = Buffer.from(fresh.map((i) => lines[i]).join('\n'));
    const submitted = this.committer.submit(payload, fresh.length);
    if (submitted.kind === 'full') {
      for (const i of fresh) {
        const e = events[i] as StoredEvent;
        this.dedup.remove(eventKey(e.tenant, e.event_id), e.received_at);
      }
      return { kind: 'overloaded', reason: 'the commit queue is full' };
    }
    await submitted.committed;
    // Originals of this request's duplicates were queued earlier, so they are durable too.
    for (const i of fresh) this.hot.add(events[i] as StoredEvent, (lines[i] as string).length);
    return { kind: 'ok', results, accepted: fresh.length, duplicates };
  }

  get(tenant: string, eventId: string): StoredEvent | undefined {
    return this.hot.get(tenant, eventId);
  }

  /** Whether the store can take writes now, with the reason when it cannot. */
  readiness(): DiskStatus {
    if (!this.committer.healthy) return { ok: false, reason: 'the write-ahead log failed' };
    return checkDisk(this.options.dataDir, this.options.diskFreeBytesMin);
  }

  /** Drops dedup keys past the window; main.ts calls this on a timer. */
  expireDedup(): number {
    return this.dedup.expire(this.options.clock.now());
  }

  stats(): { hotEvents: number; hotBytes: number; dedupKeys: number; commits: number } {
    return {
      hotEvents: this.hot.size,
      hotBytes: this.hot.bytes,
      dedupKeys: this.dedup.size,
      commits: this.committer.commits,
    };
  }

  /** Waits for queued commits, then closes the log. */
  async close(): Promise<void> {
    await this.committer.drain();
    this.wal.close();
  }

  private refusal(count: number, lines: readonly string[]): string | null {
    let bytes = 0;
    for (const line of lines) bytes += costOf(line.length);
    if (this.hot.bytes + bytes > this.options.hotBytesMax)
      return 'the in-memory event budget is full';
    if (this.dedup.wouldOverflow(count)) return 'the deduplication index is full';
    const now = this.options.clock.now();
    if (this.disk === null || now - this.diskCheckedAt >= DISK_CHECK_INTERVAL_MS) {
      this.disk = checkDisk(this.options.dataDir, this.options.diskFreeBytesMin);
      this.diskCheckedAt = now;
    }
    return this.disk.ok ? null : this.disk.reason;
  }

  private replay(record: WalRecord, now: number): void {
    const text = Buffer.from(record.payload).toString('utf8');
    for (const line of text.split('\n')) {
      const event = JSON.parse(line) as StoredEvent;
      const key = eventKey(event.tenant, event.event_id);
      this.hot.add(event, line.length);
      if (!this.dedup.isExpired(event.received_at, now) && !this.dedup.has(key)) {
        this.dedup.add(key, event.received_at);
      }
    }
  }
}
