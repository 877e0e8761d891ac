// The funnel read (GET /api/v1/funnel) as OpenAPI sees it: its query schema, its `step`
// parameter (documented by hand: read from the URL, since Elysia would split `name:a,path:/b`
// at the comma), its answer's schema and an example of a real answer.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { eventLimits } from '../core/index.ts';
import { FUNNEL_ACTOR_NAMES, FUNNEL_BREAKDOWN_COLUMNS, queryLimits } from '../query/index.ts';
import {
  actorsDoc,
  dateParam,
  filterParams,
  literalsOf,
  oneOf,
  orList,
  rangeParams,
  STEP_SYNTAX,
  StepMatch,
  tenantParam,
  tzParam,
} from './read-params.ts';

const { funnelStepsMin, funnelStepsMax, funnelWindowMsMax, funnelBreakdownValuesMax } = queryLimits;

export const FunnelQuery = t.Object({
  ...tenantParam,
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...filterParams,
  window: t.Optional(
    t.String({
      maxLength: 16,
      description:
        'Conversion window: how long after its step-1 event an actor may take the later ' +
        `steps (inclusive); a whole number and s, m, h, d or w, 1s to ` +
        `${funnelWindowMsMax / 86_400_000}d; 14d by default.`,
      examples: ['7d'],
    }),
  ),
  by: oneOf(FUNNEL_ACTOR_NAMES, {
    description: `Whom the funnel follows: ${actorsDoc(FUNNEL_ACTOR_NAMES)}.`,
    examples: ['user'],
  }),
  breakdown: t.Optional(
    t.String({
      maxLength: eventLimits.nameCharsMax + 16,
      description:
        `The funnel again per value of ${FUNNEL_BREAKDOWN_COLUMNS.join(', ')} or ` +
        "property:<key> (an event property), as PostHog's breakdown: each actor under the " +
        'value of the step-1 event of the entry it counts by (its furthest, then latest); ' +
        `the ${funnelBreakdownValuesMax} values with the most actors entered are listed, the ` +
        'others folded into one entry. Absent: no breakdowns in the answer.',
      examples: ['browser'],
    }),
  ),
});

/** `step`, repeated once per step in order: documented here, read from the URL by hand. */
export const STEP_PARAMETER: OpenAPIV3.ParameterObject = {
  name: 'step',
  in: 'query',
  required: true,
  style: 'form',
  explode: true,
  description:
    `The steps in order, ${funnelStepsMin} to ${funnelStepsMax}, one parameter each: ` +
    STEP_SYNTAX,
  schema: {
    type: 'array',
    minItems: funnelStepsMin,
    maxItems: funnelStepsMax,
    items: { type: 'string' },
  },
  example: ['path:/pricing', 'name:signup', 'name:purchase,property.plan:pro'],
};

const Rate = (description: string) => t.Number({ minimum: 0, maximum: 1, description });
const Seconds = (description: string) => t.Nullable(t.Number({ minimum: 0, description }));

const FunnelStepOut = t.Object({
  step: t.Integer({ minimum: 1, description: 'Its place, from 1.' }),
  match: StepMatch('What the step matches, as given (properties only when given).'),
  count: t.Integer({
    minimum: 0,
    description: 'Actors that reached this step (each counted once, at its furthest).',
  }),
  conversion_from_previous: Rate(
    "count / the previous step's count (1 at step 1; 0 when that is 0); not rounded.",
  ),
  conversion_from_start: Rate('count / entered (0 when no one entered); not rounded.'),
  dropped: t.Integer({
    minimum: 0,
    description: 'Reached the previous step but not this one (0 at step 1).',
  }),
  median_seconds_from_previous: Seconds(
    'Median seconds from the previous step to this one, over the actors that reached it ' +
      '(of two middle values, their mean); null at step 1 and when no one reached it.',
  ),
  avg_seconds_from_previous: Seconds('The mean of the same; null likewise.'),
});

const counts = {
  steps: t.Array(FunnelStepOut),
  entered: t.Integer({ minimum: 0, description: 'Actors with a step-1 event in the range.' }),
  completed: t.Integer({ minimum: 0, description: 'Actors that reached the last step.' }),
};

const FunnelBreakdownOut = t.Object({
  value: t.Nullable(
    t.String({
      description:
        "The value (a property's JSON text for numbers and booleans); null for no value " +
        "(absent or empty: PostHog's None) and on the folded entry.",
    }),
  ),
  other: t.Boolean({
    description:
      `True on the one entry, last, of the values past the ${funnelBreakdownValuesMax} ` +
      "listed (PostHog's Other); false on the others.",
  }),
  folded_values: t.Optional(
    t.Integer({ minimum: 1, description: 'On the folded entry only: how many values it holds.' }),
  ),
  ...counts,
});

export const FunnelOut = t.Object({
  ...counts,
  window_seconds: t.Integer({ minimum: 1, description: 'The conversion window.' }),
  by: literalsOf(FUNNEL_ACTOR_NAMES, {
    description: `Whom the counts count: ${orList(FUNNEL_ACTOR_NAMES)}.`,
  }),
  from: t.Nullable(t.String({ description: 'ISO 8601 with the offset of tz.' })),
  to: t.Nullable(t.String({ description: 'ISO 8601 with the offset of tz.' })),
  tz: t.String({ examples: ['Europe/Berlin'] }),
  breakdown: t.Optional(t.String({ description: 'With a breakdown only: the breakdown asked.' })),
  breakdowns: t.Optional(
    t.Array(FunnelBreakdownOut, {
      description:
        'With a breakdown only: the funnel per value, by actors entered (most first), then ' +
        'value (byte order, null last), the folded entry last; each actor in one entry, so ' +
        'the entries add up to the funnel.',
    }),
  ),
});

const step = (n: number, match: Record<string, string>, count: number, previous: number) => ({
  step: n,
  match,
  count,
  conversion_from_previous: n === 1 ? 1 : count / previous,
  conversion_from_start: count / 400,
  dropped: previous - count,
  median_seconds_from_previous: n === 1 ? null : 95 * n,
  avg_seconds_from_previous: n === 1 ? null : 212.5 * n,
});

export const funnelExample = {
  steps: [
    step(1, { path: '/pricing' }, 400, 400),
    step(2, { name: 'signup' }, 100, 400),
    step(3, { name: 'purchase' }, 25, 100),
  ],
  entered: 400,
  completed: 25,
  window_seconds: 1_209_600,
  by: 'visitor',
  from: '2026-11-18T00:00:00+01:00',
  to: '2026-11-25T00:00:00+01:00',
  tz: 'Europe/Berlin',
};
