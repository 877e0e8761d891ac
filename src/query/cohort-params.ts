// The parameters of a cohort retention read (GET /api/v1/cohorts) that its schema cannot check:
// its start and return events, each once, in the funnel's step syntax (`name:signup`,
// `path:/pricing`, `name:signup,path:/welcome`) or `any` (every event). Each refusal is a 422
// naming the parameter and the rule it breaks.

import { AppError, type FieldIssue } from '../core/index.ts';
import { ACTOR_SQL } from './actors.ts';
import { type FunnelStep, parseStep, STEP_RULE } from './step-syntax.ts';

/** What a start or return event matches: a step, or every event (PostHog's "All events"). */
export type CohortEvent = FunnelStep | 'any';

export const ANY_EVENT = 'any';

/** The start event when none is given: a page view (PostHog's default, `$pageview`). */
const DEFAULT_START: CohortEvent = { name: 'page_view' };

/** Whom a cohort read follows, and the SQL expression naming them (no sessions: see README). */
export const COHORT_ACTORS = {
  visitor: ACTOR_SQL.visitor,
  device: ACTOR_SQL.device,
  person: ACTOR_SQL.person,
  user: ACTOR_SQL.user,
} as const;
export type CohortActor = keyof typeof COHORT_ACTORS;
/** The values of `by`, the default first. */
export const COHORT_ACTOR_NAMES = Object.keys(COHORT_ACTORS) as CohortActor[];

/**
 * Who is in the cohort of a period: `recurring` (PostHog's default), everyone with a start
 * event in it; `first`, those whose first start event ever is in it.
 */
export const COHORT_KINDS = ['recurring', 'first'] as const;
export type CohortKind = (typeof COHORT_KINDS)[number];

const EVENT_RULE = `${STEP_RULE}, or any (every event)`;

export interface CohortEvents {
  start: CohortEvent;
  /** The start event when absent (PostHog's query API takes a page view instead). */
  return: CohortEvent;
}

/** The start and return events of the query string `params`; a 422 listing each bad one. */
export function parseCohortEvents(params: URLSearchParams): CohortEvents {
  const issues: FieldIssue[] = [];
  const start = parseEvent(params.getAll('start'), 'start', issues) ?? DEFAULT_START;
  const back = parseEvent(params.getAll('return'), 'return', issues) ?? start;
  if (issues.length > 0) throw AppError.validation(issues);
  return { start, return: back };
}

function parseEvent(
  values: string[],
  field: 'start' | 'return',
  issues: FieldIssue[],
): CohortEvent | undefined {
  const [value] = values;
  if (value === undefined) return undefined;
  if (values.length > 1) {
    issues.push({
      loc: ['query', field],
      msg: `give ${field} once (got ${values.length})`,
      type: 'too_long',
    });
    return undefined;
  }
  if (value === ANY_EVENT) return ANY_EVENT;
  return parseStep(value, ['query', field], issues, EVENT_RULE);
}
