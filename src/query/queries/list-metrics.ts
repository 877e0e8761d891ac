// GET /api/v1/metrics: metric points (events with a value), newest first, in keyset pages.

import type { EventSource } from '../../storage/index.ts';
import { readPage } from '../event-pages.ts';
import { presentMetricRow } from '../event-rows.ts';

export interface ListMetricsOptions {
  name?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  limit: number;
  cursor?: string | undefined;
  /** Now (UTC epoch ms): where the newest points are looked for first (event-pages.ts). */
  nowMs?: number | undefined;
}

export interface MetricList {
  metrics: Record<string, unknown>[];
  next_cursor: string | null;
}

export async function listMetrics(
  source: EventSource,
  tenant: string,
  options: ListMetricsOptions,
  signal?: AbortSignal,
): Promise<MetricList> {
  const page = await readPage(
    source,
    tenant,
    {
      filters: {
        equals: { name: options.name },
        includeBots: true,
        valued: true,
        fromMs: options.fromMs,
        toMs: options.toMs,
      },
      limit: options.limit,
      cursor: options.cursor,
      nowMs: options.nowMs,
    },
    presentMetricRow,
    signal,
  );
  return { metrics: page.items, next_cursor: page.next_cursor };
}
