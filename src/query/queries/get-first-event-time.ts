// When a tenant's stats begin (and end): the time of its first stored event (bots left out),
// where Plausible's `all` range starts (a site's first stats), and of its last, which Umami's
// daterange answers with the first.

import type { EventSource } from '../../storage/index.ts';
import { filterConditions, whereOf } from '../filters.ts';
import { nullableNumberOf, readSnapshotRows } from '../read.ts';

/** UTC epoch ms of `tenant`'s first event, or null when it has none. */
export async function getFirstEventMs(
  source: EventSource,
  tenant: string,
  signal?: AbortSignal,
): Promise<number | null> {
  return (await getEventTimeRange(source, tenant, signal))?.firstMs ?? null;
}

/** UTC epoch ms of `tenant`'s first and last events, or null when it has none. */
export async function getEventTimeRange(
  source: EventSource,
  tenant: string,
  signal?: AbortSignal,
): Promise<{ firstMs: number; lastMs: number } | null> {
  const rows = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    const where = whereOf(filterConditions({}, params));
    return `SELECT min(epoch_ms(e."timestamp")) AS first_ms,
        max(epoch_ms(e."timestamp")) AS last_ms
      FROM ${snapshot.from} AS e ${where}`;
  });
  const firstMs = nullableNumberOf(rows[0]?.first_ms);
  const lastMs = nullableNumberOf(rows[0]?.last_ms);
  return firstMs === null || lastMs === null ? null : { firstMs, lastMs };
}
