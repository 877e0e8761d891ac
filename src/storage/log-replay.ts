// What the store does with each log record it replays at open: records the catalog says are
// flushed are skipped, so are a deleted tenant's up to its tombstone, and the events of an
// erasure's person are cut from the records up to its seq (see person-eraser.ts) before the
// rest go to the hot tier. The replay handler still sees every line of a kept record: the
// dedup index keeps the ids of erased events (a resend is a duplicate, as before the crash).

import { withoutErased } from './erasure-filter.ts';
import type { ErasureMatch } from './erasure-log.ts';
import type { HotTier } from './hot-tier.ts';
import type { WalRecord } from './wal.ts';

export interface ReplayCuts {
  flushedSeq: number;
  /** Deleted tenants: tenant → seq deleted through. */
  tombstones: Map<string, number>;
  /** Erasures above the flushed seq. */
  erasures: readonly ErasureMatch[];
}

export function replayInto(
  hot: HotTier,
  cuts: ReplayCuts,
  onReplay: (seq: number, lines: string[]) => void,
): (record: WalRecord) => void {
  return (record) => {
    if (record.seq <= cuts.flushedSeq) return;
    let payload: Uint8Array = Buffer.from(record.payload); // a copy: the file's buffer goes
    const lines = Buffer.from(payload).toString('utf8').split('\n');
    // A record holds one tenant's events: one actor's commit (see TenantActor). Their days
    // are not known without parsing every line; the first flush finds them.
    const tenant = tenantOfLine(lines[0] as string);
    // A record that keeps no event is passed, so the next flush lets its log file go.
    if (record.seq <= (cuts.tombstones.get(tenant) ?? 0)) {
      hot.passed(record.seq); // its tenant was deleted
      return;
    }
    let events = lines.length;
    const cut = withoutErased(payload, tenant, record.seq, cuts.erasures);
    if (cut !== null) ({ payload, events } = cut);
    if (events > 0) hot.add(record.seq, { tenant, events, days: null, payload });
    else hot.passed(record.seq);
    onReplay(record.seq, lines);
  };
}

function tenantOfLine(line: string): string {
  return (JSON.parse(line) as { tenant: string }).tenant;
}
