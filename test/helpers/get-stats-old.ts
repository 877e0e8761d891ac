// getStats as it was before query/visit-scope (8f24915): the same four statements (statsOf),
// with the visit scope formed again in each of them (visitScopedFrom) instead of once, for
// test/query/visit-scope-old.test.ts.

import { PAGE_VIEW_NAMES, type Stats, type StatsOptions } from '../../src/query/index.ts';
import { statsOf } from '../../src/query/queries/get-stats.ts';
import { visitRangeOf } from '../../src/query/queries/visit-rows.ts';
import { visitScopedFrom } from '../../src/query/queries/visit-scope.ts';
import { withSnapshot } from '../../src/query/read.ts';
import type { EventSource } from '../../src/storage/index.ts';

export function oldGetStats(
  source: EventSource,
  tenant: string,
  options: StatsOptions,
): Promise<Stats> {
  const { fromMs, toMs } = options.filters;
  return withSnapshot(source, tenant, visitRangeOf(fromMs, toMs), undefined, (snapshot) =>
    statsOf(snapshot, options, (params) =>
      options.visits === undefined
        ? snapshot.from
        : visitScopedFrom(snapshot, options.visits, options.filters, PAGE_VIEW_NAMES, params),
    ),
  );
}
