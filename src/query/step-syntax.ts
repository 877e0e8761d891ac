// The step syntax of funnels and cohort reads: what one step matches, written as one query
// parameter (`name:signup`, `path:/pricing`, `name:signup,path:/welcome`), parsed into a
// FunnelStep; step-match.ts turns a step into SQL. A refusal names its parameter and the rule.

import { eventLimits, type FieldIssue } from '../core/index.ts';

/** What one step matches: an event name, a page view's path, or an event of a name on a path. */
export interface FunnelStep {
  name?: string;
  path?: string;
}

export const STEP_RULE =
  'a step is name:<event name>, path:<path> (a page view of that path), or ' +
  'name:<event name>,path:<path> (an event of that name on that path)';

/** A comma starts a step's next condition only before `name:` or `path:`; others are text. */
const CONDITIONS = /,(?=(?:name|path):)/;
const CONDITION = /^(name|path):([\s\S]*)$/;

/** How much of a refused value a message quotes. */
const QUOTED_CHARS_MAX = 64;

/** `value` as a 422 message quotes it: JSON text, cut past QUOTED_CHARS_MAX characters. */
export function quote(value: string): string {
  const cut = value.length > QUOTED_CHARS_MAX;
  return JSON.stringify(cut ? `${value.slice(0, QUOTED_CHARS_MAX)}…` : value);
}

/**
 * One step in the step syntax (`name:…`, `path:…` or both); a refusal is added to `issues` at
 * `loc` (the step is then partial and not to be used).
 */
export function parseStep(
  value: string,
  loc: FieldIssue['loc'],
  issues: FieldIssue[],
  rule: string = STEP_RULE,
): FunnelStep {
  const step: FunnelStep = {};
  const issue = (msg: string, type = 'value_error') => {
    issues.push({ loc, msg, type });
    return step;
  };
  for (const part of value.split(CONDITIONS)) {
    const condition = CONDITION.exec(part);
    if (condition === null) return issue(`${rule} (got ${quote(value)})`);
    const key = condition[1] as keyof FunnelStep;
    const text = condition[2] ?? '';
    if (step[key] !== undefined) return issue(`a step names its ${key} once (got ${quote(value)})`);
    const charsMax = key === 'name' ? eventLimits.nameCharsMax : eventLimits.urlCharsMax;
    if (text.length === 0)
      return issue(`the ${key} of a step must not be empty`, 'string_too_short');
    if (text.length > charsMax) {
      return issue(`the ${key} of a step is at most ${charsMax} characters`, 'string_too_long');
    }
    step[key] = text;
  }
  return step;
}
