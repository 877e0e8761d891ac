// The parameters of a funnel (GET /api/v1/funnel) that its schema cannot check: its steps
// (`step=name:signup`, `step=path:/pricing`, `step=name:signup,path:/welcome`, in order; the
// syntax of one is step-syntax.ts) and its conversion window (`window=14d`). Each refusal is a
// 422 naming the parameter (and the step's position, from 0, as in every list of a 422) and the
// rule it breaks.

import { AppError, type FieldIssue } from '../core/index.ts';
import { ACTOR_SQL } from './actors.ts';
import { queryLimits } from './limits.ts';
import { type FunnelStep, parseStep, quote } from './step-syntax.ts';

/** Whom a funnel follows, and the SQL expression (actors.ts) that names them. */
export const FUNNEL_ACTORS = {
  visitor: ACTOR_SQL.visitor,
  device: ACTOR_SQL.device,
  person: ACTOR_SQL.person,
  user: ACTOR_SQL.user,
  session: ACTOR_SQL.session,
} as const;

export type FunnelActor = keyof typeof FUNNEL_ACTORS;

/** The values of `by`, the default first. */
export const FUNNEL_ACTOR_NAMES = Object.keys(FUNNEL_ACTORS) as FunnelActor[];

/** The steps of `values` (every `step` parameter, in order); a 422 listing each bad one. */
export function parseFunnelSteps(values: string[]): FunnelStep[] {
  const { funnelStepsMin: min, funnelStepsMax: max } = queryLimits;
  if (values.length < min || values.length > max) {
    throw AppError.validation([
      {
        loc: ['query', 'step'],
        msg:
          `a funnel has ${min} to ${max} steps, one step parameter each, in order ` +
          `(got ${values.length})`,
        type: values.length < min ? 'too_short' : 'too_long',
      },
    ]);
  }
  const issues: FieldIssue[] = [];
  const steps = values.map((value, index) => parseStep(value, ['query', 'step', index], issues));
  if (issues.length > 0) throw AppError.validation(issues);
  return steps;
}

const WINDOW = /^([1-9][0-9]{0,8})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The conversion window of `window` (`90m`, `14d` …) in ms; the default when absent. */
export function parseFunnelWindow(window: string | undefined): number {
  if (window === undefined) return queryLimits.funnelWindowMsDefault;
  const { funnelWindowMsMin: min, funnelWindowMsMax: max } = queryLimits;
  const match = WINDOW.exec(window);
  const ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] as 's'];
  if (ms >= min && ms <= max) return ms;
  throw AppError.validation([
    {
      loc: ['query', 'window'],
      msg:
        'window is a whole number and a unit, s, m, h, d or w (30m, 14d), from ' +
        `${min / 1000}s to ${max / UNIT_MS.d}d (got ${quote(window)})`,
      type: 'value_error',
    },
  ]);
}
