// GET /api/v1/funnel: of the actors with a step-1 event in the range, how many then took each
// later step in order within the conversion window (query/queries/get-funnel.ts). A thin
// handler: the steps are read from the URL (every `step`, in order), the rest from the schema.

import { Elysia } from 'elysia';
import {
  filtersOf,
  getFunnel,
  parseFunnelBreakdown,
  parseFunnelSteps,
  parseFunnelWindow,
  resolveRange,
} from '../../query/index.ts';
import { FunnelOut, FunnelQuery, funnelExample, STEP_PARAMETER } from '../funnel-model.ts';
import { readAnswers } from '../openapi-docs.ts';
import { rangeEcho } from '../range-echo.ts';
import { FILTER_NOTE } from '../read-params.ts';
import { refuseVisitFilters } from '../visit-refusal.ts';
import type { ReadDeps, TenantOf } from './reads.ts';

export function funnelRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  return new Elysia({ prefix: '/api/v1', tags: ['reads'] }).get(
    '/funnel',
    async ({ query, request }) => {
      const tenant = tenantOf(request, query);
      const params = new URL(request.url).searchParams;
      refuseVisitFilters(params, 'a funnel');
      const steps = parseFunnelSteps(params.getAll('step'));
      const windowMs = parseFunnelWindow(query.window);
      const by = query.by ?? 'visitor';
      const breakdown = parseFunnelBreakdown(query.breakdown);
      const range = resolveRange(query);
      const filters = filtersOf(query, request.url, range);
      const { breakdowns, ...funnel } = await getFunnel(
        deps.source,
        tenant,
        { steps, windowMs, by, filters, breakdown },
        request.signal,
      );
      // Without a breakdown the answer is as it was before breakdowns existed.
      const brokenDown = breakdowns === undefined ? {} : { breakdown: query.breakdown, breakdowns };
      return {
        ...funnel,
        window_seconds: windowMs / 1000,
        by,
        ...rangeEcho(range),
        ...brokenDown,
      };
    },
    {
      query: FunnelQuery,
      detail: {
        summary: 'A funnel: how many did step 1, then step 2 … in order, within a window',
        parameters: [STEP_PARAMETER],
        responses: readAnswers(FunnelOut, 'Each step with its count and conversion', funnelExample),
        description:
          "PostHog's sequential funnel over your events (bots excluded unless bots=include). " +
          'Each actor (visitor, device, person, user or session: `by`) with a step-1 event in ' +
          'the range enters; from each such event, each next step is the first later event ' +
          'matching it, all within `window` of the step-1 event (later steps may fall after ' +
          '`to`). ' +
          'Events are ordered by timestamp, then event_id: one event is never two steps. ' +
          'An actor counts once, at the furthest step any of its entries reached; its times ' +
          'between steps are those of its latest entry reaching that far. `tz` only reads ' +
          'date, from and to. The filters apply to the events of every step. With ' +
          '`breakdown`, `breakdowns` holds the same funnel per value of the step-1 event of ' +
          "each actor's counting entry (the README's Funnels section has the exact rules)." +
          FILTER_NOTE,
      },
    },
  );
}
