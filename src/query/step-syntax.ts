// The step syntax of funnels and cohort reads: what one step matches, written as one query
// parameter (`name:signup`, `path:/pricing`, `name:signup,path:/welcome`,
// `name:purchase,property.plan:pro`), parsed into a FunnelStep; step-match.ts turns a step into
// SQL. A refusal names its parameter and the rule.

import { eventLimits, type FieldIssue } from '../core/index.ts';
import { queryLimits } from './limits.ts';

/**
 * What one step matches: an event name, a page view's path, or an event of a name on a path;
 * each property condition (key → value, compared as the read filters compare) ANDed to those.
 */
export interface FunnelStep {
  name?: string;
  path?: string;
  /** Only when given: the answer's `match` echoes the step as it was parsed. */
  properties?: Record<string, string>;
}

export const STEP_RULE =
  'a step is name:<event name>, path:<path> (a page view of that path), or ' +
  'name:<event name>,path:<path> (an event of that name on that path), each with optional ' +
  'property.<key>:<value> conditions after a comma';

/**
 * A comma starts a step's next condition only before `name:`, `path:` or `property.<key>:` (a
 * key without a comma or a colon); every other comma is text of the condition before it. So a
 * name, path or value may hold commas and colons, but not `,name:`, `,path:` or
 * `,property.<key>:` (the one ambiguity: such text starts a condition).
 */
const CONDITIONS = /,(?=(?:name|path|property\.[^,:]+):)/;
const CONDITION = /^(?:(name|path)|property\.([^,:]+)):([\s\S]*)$/;

/** How much of a refused value a message quotes. */
const QUOTED_CHARS_MAX = 64;

/** `value` as a 422 message quotes it: JSON text, cut past QUOTED_CHARS_MAX characters. */
export function quote(value: string): string {
  const cut = value.length > QUOTED_CHARS_MAX;
  return JSON.stringify(cut ? `${value.slice(0, QUOTED_CHARS_MAX)}…` : value);
}

/**
 * One step in the step syntax (`name:…`, `path:…` or both, and `property.<key>:…`
 * conditions); a refusal is added to `issues` at `loc` (the step is then partial and not to be
 * used).
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
    const text = condition[3] ?? '';
    const got = quote(value);
    const refusal =
      condition[1] === undefined
        ? addProperty(step, condition[2] ?? '', text, got)
        : addField(step, condition[1] as 'name' | 'path', text, got);
    if (refusal !== undefined) return issue(refusal.msg, refusal.type);
  }
  if (step.name === undefined && step.path === undefined) {
    return issue(`a step's property conditions go with a name or a path (got ${quote(value)})`);
  }
  return step;
}

interface Refusal {
  msg: string;
  type: string;
}

/** Sets the name or path of `step` to `text`; the rule it breaks, `got` the step quoted. */
function addField(
  step: FunnelStep,
  key: 'name' | 'path',
  text: string,
  got: string,
): Refusal | undefined {
  if (step[key] !== undefined) {
    return { msg: `a step names its ${key} once (got ${got})`, type: 'value_error' };
  }
  const charsMax = key === 'name' ? eventLimits.nameCharsMax : eventLimits.urlCharsMax;
  if (text.length === 0) {
    return { msg: `the ${key} of a step must not be empty`, type: 'string_too_short' };
  }
  if (text.length > charsMax) {
    return {
      msg: `the ${key} of a step is at most ${charsMax} characters`,
      type: 'string_too_long',
    };
  }
  step[key] = text;
  return undefined;
}

/** Adds the condition `key` = `text` to `step`; the rule it breaks, `got` the step quoted. */
function addProperty(
  step: FunnelStep,
  key: string,
  text: string,
  got: string,
): Refusal | undefined {
  const { nameCharsMax } = eventLimits;
  const { stepPropertiesMax, stepPropertyValueCharsMax } = queryLimits;
  if (key.length > nameCharsMax) {
    return {
      msg: `the key of a step's property condition is at most ${nameCharsMax} characters`,
      type: 'string_too_long',
    };
  }
  // A record without a prototype: `__proto__` and `constructor` are keys like any other.
  const properties = step.properties ?? (Object.create(null) as Record<string, string>);
  if (Object.hasOwn(properties, key)) {
    return { msg: `a step names property.${key} once (got ${got})`, type: 'value_error' };
  }
  if (Object.keys(properties).length >= stepPropertiesMax) {
    return {
      msg: `a step has at most ${stepPropertiesMax} property conditions`,
      type: 'too_long',
    };
  }
  if (text.length === 0) {
    return {
      msg: `the value of property.${key} in a step must not be empty`,
      type: 'string_too_short',
    };
  }
  if (text.length > stepPropertyValueCharsMax) {
    return {
      msg:
        "the value of a step's property condition is at most " +
        `${stepPropertyValueCharsMax} characters`,
      type: 'string_too_long',
    };
  }
  properties[key] = text;
  step.properties = properties;
  return undefined;
}
