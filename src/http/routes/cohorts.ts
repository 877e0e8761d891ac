// GET /api/v1/cohorts: cohort retention (PostHog's retention insight; "retention" alone is
// Tally's RETENTION_DAYS): of the actors with a start event in each period, how many did the
// return event in each later period (query/queries/get-cohorts.ts). A thin handler: start and
// return are read from the URL, the rest from the schema.

import { Elysia } from 'elysia';
import {
  filtersOf,
  getCohorts,
  parseCohortEvents,
  queryLimits,
  resolveRange,
} from '../../query/index.ts';
import {
  COHORT_EVENT_PARAMETERS,
  CohortsOut,
  CohortsQuery,
  cohortsExample,
} from '../cohorts-model.ts';
import { readAnswers } from '../openapi-docs.ts';
import { rangeEcho } from '../range-echo.ts';
import { FILTER_NOTE } from '../read-params.ts';
import { refuseVisitFilters } from '../visit-refusal.ts';
import type { ReadDeps, TenantOf } from './reads.ts';

export function cohortRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  const now = deps.now ?? Date.now;
  return new Elysia({ prefix: '/api/v1', tags: ['reads'] }).get(
    '/cohorts',
    async ({ query, request }) => {
      const tenant = tenantOf(request, query);
      const params = new URL(request.url).searchParams;
      refuseVisitFilters(params, 'a cohort read');
      const events = parseCohortEvents(params);
      const range = resolveRange(query);
      const choices = {
        period: query.period ?? ('day' as const),
        cohort: query.cohort ?? ('recurring' as const),
        by: query.by ?? ('visitor' as const),
        periods: query.periods ?? queryLimits.cohortPeriodsDefault,
      };
      const result = await getCohorts(
        deps.source,
        tenant,
        {
          startEvent: events.start,
          returnEvent: events.return,
          kind: choices.cohort,
          by: choices.by,
          period: choices.period,
          periods: choices.periods,
          tz: range.tz,
          fromMs: range.fromMs,
          toMs: range.toMs,
          nowMs: now(),
          filters: filtersOf(query, request.url, range),
        },
        request.signal,
      );
      const read = { fromMs: result.fromMs, toMs: result.toMs, tz: range.tz };
      return { cohorts: result.cohorts, ...choices, ...events, ...rangeEcho(read) };
    },
    {
      query: CohortsQuery,
      detail: {
        summary: 'Cohort retention: of those who did X in a period, how many came back later',
        parameters: COHORT_EVENT_PARAMETERS,
        responses: readAnswers(CohortsOut, 'Each cohort with its size and returns', cohortsExample),
        description:
          "PostHog's retention insight over your events (bots excluded unless bots=include); " +
          'named cohorts since retention in Tally means RETENTION_DAYS. Each local day, week ' +
          '(from Monday) or month of tz in the range is a cohort: the actors (visitors, ' +
          'devices, persons or users: `by`) with a start event in it (recurring, the default), ' +
          'or whose first start event ever is in it (cohort=first). returned[k] counts those ' +
          'of a cohort with a return event k periods later (returned[0] is the size), for ' +
          "`periods` periods or until the range ends. `from` is widened to its period's " +
          'start; periods after `to` or not yet begun are not reported. The filters apply to ' +
          'start and return events alike.' +
          FILTER_NOTE,
      },
    },
  );
}
