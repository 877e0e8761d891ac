// When a tenant's stats begin: the time of its first stored event (bots left out), where
// Plausible's `all` range starts (a site's first stats).

import type { EventSource } from '../../storage/index.ts';
import { filterConditions, whereOf } from '../filters.ts';
import { nullableNumberOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

/** UTC epoch ms of `tenant`'s first event, or null when it has none. */
export async function getFirstEventMs(
  source: EventSource,
  tenant: string,
  signal?: AbortSignal,
): Promise<number | null> {
  const rows = await withSnapshot(source, tenant, {}, signal, (snapshot) => {
    const params = new SqlParams();
    const where = whereOf(filterConditions({}, params));
    const sql = `SELECT min(epoch_ms(e."timestamp")) AS first_ms
      FROM ${snapshot.from} AS e ${where}`;
    return readRows(snapshot, sql, params);
  });
  return nullableNumberOf(rows[0]?.first_ms);
}
