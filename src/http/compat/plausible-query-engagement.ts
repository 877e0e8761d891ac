// Plausible's rules for its Stats API v2 `scroll_depth` metric (Filters.QueryParser's
// validate_metric): an `event:page` dimension or a top-level `event:page` filter (one nested
// in `and`, `or` or `not` does not count: Filters.get_toplevel_filter). Tally reads the
// scroll depth (query/engagement-metrics.ts) in total or by `event:page` alone, and refuses
// other dimensions with it rather than answer null.

import { isFilter, SCROLL_DEPTH } from '../../query/index.ts';
import type { QueryParams } from './plausible-query-params.ts';
import { badRequest, propertyName } from './plausible-stats-params.ts';

const PAGE = 'event:page';

/** Throws Plausible's 400 (or Tally's, for the dimensions it cannot read it by). */
export function checkScrollDepth(q: QueryParams): void {
  if (!q.metrics.includes(SCROLL_DEPTH)) return;
  const byPage = q.dimensions.some((d) => d.name === PAGE);
  const pageFiltered = q.filters.conditions.some(
    (c) => isFilter(c) && propertyName(c.property) === PAGE,
  );
  if (!byPage && !pageFiltered) {
    throw badRequest(
      `Metric \`${SCROLL_DEPTH}\` can only be queried with event:page filters or dimensions.`,
    );
  }
  if (q.dimensions.length > 1 || (q.dimensions.length === 1 && !byPage)) {
    throw badRequest(
      `Tally reads \`${SCROLL_DEPTH}\` in total or by \`${PAGE}\` alone, not by ` +
        `${q.dimensions.map((d) => `\`${d.name}\``).join(', ')}.`,
    );
  }
}
