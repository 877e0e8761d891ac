// GET /api/v1/metrics/latest/{name} when the tenant's live rollups cannot answer (they keep the
// ROLLUP_NAMES_MAX most recent metrics; a failed rebuild may miss points; no actor could be
// had): its latest point read from the store — a scan of the tenant's events, so the route
// asks it only then — chosen as the rollups choose it (engine/rollups.ts, `noteLatest` and
// `rebuildRollups`).

import { metricLimits } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { numberOf, readSnapshotRows } from '../read.ts';

export interface LatestPoint {
  name: string;
  value: number;
  /** Epoch ms. */
  timestamp: number;
  event_id: string;
}

/**
 * The latest point of metric `name`, or null when none is stored. Points are ordered by their
 * timestamp, one too far ahead of its receipt (clock skew) as of its receipt plus the skew,
 * then by receipt, then by event_id (UTF-8 bytes, as DuckDB orders text).
 */
export async function getLatestMetric(
  source: EventSource,
  tenant: string,
  name: string,
  signal?: AbortSignal,
): Promise<LatestPoint | null> {
  const skew = `INTERVAL ${metricLimits.pointClockSkewMs} MILLISECOND`;
  const [row] = await readSnapshotRows(
    source,
    tenant,
    {},
    signal,
    (snapshot, params) =>
      `SELECT e.event_id, e."value", epoch_ms(e."timestamp") AS "timestamp" ` +
      `FROM ${snapshot.from} AS e WHERE e.name = ${params.add(name)} AND e."value" IS NOT NULL ` +
      `ORDER BY least(e."timestamp", e.received_at + ${skew}) DESC, e.received_at DESC, ` +
      'e.event_id DESC LIMIT 1',
  );
  if (row === undefined) return null;
  return {
    name,
    value: numberOf(row.value),
    timestamp: numberOf(row.timestamp),
    event_id: String(row.event_id),
  };
}
