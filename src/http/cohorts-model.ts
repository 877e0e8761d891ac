// The cohort retention read (GET /api/v1/cohorts) as OpenAPI sees it: its query schema, its
// `start` and `return` parameters (documented by hand: read from the URL, as the funnel's steps
// are), its answer's schema and an example of a real answer.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { COHORT_ACTOR_NAMES, COHORT_KINDS, COHORT_PERIODS, queryLimits } from '../query/index.ts';
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

const { cohortPeriodsDefault, cohortPeriodsMax, cohortsMax } = queryLimits;

export const CohortsQuery = t.Object({
  ...tenantParam,
  ...dateParam,
  ...rangeParams,
  ...tzParam,
  ...filterParams,
  period: oneOf(COHORT_PERIODS, {
    description:
      'The length of a cohort: a local day (the default), week (from Monday) or month of tz.',
  }),
  periods: t.Optional(
    t.Integer({
      minimum: 1,
      maximum: cohortPeriodsMax,
      description:
        'How many periods each cohort is followed, period 0 included (the length of its ' +
        `longest returned list); ${cohortPeriodsDefault} by default. Without from, also how ` +
        'many cohorts: the range is then that many periods, ending with the current one.',
      examples: [4],
    }),
  ),
  cohort: oneOf(COHORT_KINDS, {
    description:
      'recurring (the default): an actor is in the cohort of every period with a start event. ' +
      'first: only in the period of its first start event ever (looked for before from too).',
  }),
  by: oneOf(COHORT_ACTOR_NAMES, {
    description: `Whom the cohorts hold: ${actorsDoc(COHORT_ACTOR_NAMES)}.`,
  }),
});

const SYNTAX = `Given once: \`any\` (every event) or a step, ${STEP_SYNTAX}`;

/** `start` and `return`: documented here, read from the URL by hand. */
export const COHORT_EVENT_PARAMETERS: OpenAPIV3.ParameterObject[] = [
  {
    name: 'start',
    in: 'query',
    required: false,
    description: `The event that puts an actor in a cohort; page views by default. ${SYNTAX}`,
    schema: { type: 'string' },
    example: 'name:signup',
  },
  {
    name: 'return',
    in: 'query',
    required: false,
    description: `The event that counts as coming back; the start event by default. ${SYNTAX}`,
    schema: { type: 'string' },
    example: 'any',
  },
];

const EventMatch = (description: string) =>
  t.Union([t.Literal('any'), StepMatch('A step (properties only when given).')], {
    description,
  });

const Count = (description: string) => t.Integer({ minimum: 0, description });

export const CohortsOut = t.Object({
  cohorts: t.Array(
    t.Object({
      start: t.String({
        description: "The start of the cohort's period, ISO 8601 with the offset of tz.",
      }),
      size: Count('Actors in the cohort.'),
      returned: t.Array(Count(''), {
        minItems: 1,
        maxItems: cohortPeriodsMax,
        description:
          "Per period from the cohort's own (0: size), the actors of the cohort with a return " +
          'event in it; up to `periods` entries, fewer when the range ends first.',
      }),
    }),
    { maxItems: cohortsMax, description: 'One per period of the range, oldest first.' },
  ),
  period: literalsOf(COHORT_PERIODS, { description: 'The length of a cohort.' }),
  cohort: literalsOf(COHORT_KINDS, { description: 'Who is in a cohort: recurring or first.' }),
  by: literalsOf(COHORT_ACTOR_NAMES, {
    description: `Whom the counts count: ${orList(COHORT_ACTOR_NAMES)}.`,
  }),
  periods: t.Integer({ minimum: 1, description: 'How many periods a cohort is followed.' }),
  start: EventMatch('The start event, as given (`any` or a step).'),
  return: EventMatch('The return event, as given or defaulted.'),
  from: t.String({ description: 'Start of the first period, ISO 8601 with the offset of tz.' }),
  to: t.String({
    description: 'End of what was read: to (now by default), or the end of the last period.',
  }),
  tz: t.String({ examples: ['Europe/Berlin'] }),
});

export const cohortsExample = {
  cohorts: [
    { start: '2026-11-02T00:00:00+01:00', size: 120, returned: [120, 54, 41, 38] },
    { start: '2026-11-09T00:00:00+01:00', size: 98, returned: [98, 40, 33] },
    { start: '2026-11-16T00:00:00+01:00', size: 131, returned: [131, 62] },
    { start: '2026-11-23T00:00:00+01:00', size: 87, returned: [87] },
  ],
  period: 'week',
  cohort: 'recurring',
  by: 'user',
  periods: 4,
  start: { name: 'signup' },
  return: 'any',
  from: '2026-11-02T00:00:00+01:00',
  to: '2026-11-25T12:00:00+01:00',
  tz: 'Europe/Berlin',
};
