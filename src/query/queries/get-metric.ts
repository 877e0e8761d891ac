// GET /api/v1/metrics/{id}: one metric point (an event with a value), or null.

import type { EventSource } from '../../storage/index.ts';
import { presentMetricRow } from '../event-rows.ts';
import { type EventLookup, eventRow } from './get-event.ts';

export async function getMetric(
  source: EventSource,
  tenant: string,
  id: string,
  lookup: EventLookup = {},
): Promise<Record<string, unknown> | null> {
  const row = await eventRow(source, tenant, id, true, lookup);
  return row === null ? null : presentMetricRow(row);
}
