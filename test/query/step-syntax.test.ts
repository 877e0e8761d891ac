// query/step-syntax.ts: a funnel step or cohort event (`name:…`, `path:…`, and
// `property.<key>:<value>` conditions) from its query parameter. A comma starts a condition only
// before name:, path: or property.<key>:, so names, paths and values keep their other commas
// and colons, and every step valid before property conditions keeps its meaning unless its
// text holds `,property.<key>:`.

import { describe, expect, test } from 'bun:test';
import type { FieldIssue } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { parseStep } from '../../src/query/step-syntax.ts';

const parse = (value: string) => {
  const issues: FieldIssue[] = [];
  const step = parseStep(value, ['query', 'step', 0], issues);
  return { step, issues };
};
const ok = (value: string) => {
  const { step, issues } = parse(value);
  expect(issues).toEqual([]);
  // Through JSON as an answer's `match` shows it (the properties' record has no prototype).
  return JSON.parse(JSON.stringify(step)) as unknown;
};
const refused = (value: string) => {
  const { issues } = parse(value);
  expect(issues).toHaveLength(1);
  expect(issues[0]?.loc).toEqual(['query', 'step', 0]);
  return issues[0] as FieldIssue;
};

describe('parseStep with property conditions', () => {
  test('one or more conditions after a name or a path, in any order', () => {
    expect(ok('name:purchase,property.plan:pro')).toEqual({
      name: 'purchase',
      properties: { plan: 'pro' },
    });
    expect(ok('path:/pricing,property.utm_source:ads,property.$browser:Firefox')).toEqual({
      path: '/pricing',
      properties: { utm_source: 'ads', $browser: 'Firefox' },
    });
    expect(ok('property.plan:pro,name:purchase,path:/checkout')).toEqual({
      properties: { plan: 'pro' },
      name: 'purchase',
      path: '/checkout',
    });
    // A step without properties has no `properties` key: old answers stay byte-identical.
    expect(JSON.stringify(ok('name:signup,path:/welcome'))).toBe(
      '{"name":"signup","path":"/welcome"}',
    );
  });

  test('keys hold dots; values hold commas, colons and dots', () => {
    expect(ok('name:buy,property.cart.total:10.5')).toEqual({
      name: 'buy',
      properties: { 'cart.total': '10.5' },
    });
    expect(ok('name:buy,property.url:https://x.test/a?b=c,d:e')).toEqual({
      name: 'buy',
      properties: { url: 'https://x.test/a?b=c,d:e' },
    });
    expect(ok('name:buy,property.tags:a,b,property.note:x:y')).toEqual({
      name: 'buy',
      properties: { tags: 'a,b', note: 'x:y' },
    });
    // The key ends at the first colon: the rest is the value.
    expect(ok('name:a,property.k:v:w')).toEqual({ name: 'a', properties: { k: 'v:w' } });
    // `__proto__` and `constructor` are keys like any other.
    expect(ok('name:a,property.__proto__:x,property.constructor:y')).toEqual({
      name: 'a',
      properties: { ['__proto__']: 'x', constructor: 'y' },
    });
  });

  test('steps valid before keep their meaning unless they hold ,property.<key>:', () => {
    expect(ok('name:a, b')).toEqual({ name: 'a, b' });
    expect(ok('name:ratio 1:2,3')).toEqual({ name: 'ratio 1:2,3' });
    expect(ok('path:/a,b:c')).toEqual({ path: '/a,b:c' });
    // No key, no colon after the key, or a comma in the key: still text.
    expect(ok('name:x,property.:v')).toEqual({ name: 'x,property.:v' });
    expect(ok('name:x,property.plan')).toEqual({ name: 'x,property.plan' });
    expect(ok('path:/x,property.a,b:c')).toEqual({ path: '/x,property.a,b:c' });
    expect(ok('name:x,propertyplan:pro')).toEqual({ name: 'x,propertyplan:pro' });
    expect(ok('name:x,Property.plan:pro')).toEqual({ name: 'x,Property.plan:pro' });
    // The one ambiguity accepted: `,property.<key>:` in a name, path or value starts a
    // condition (as `,name:` and `,path:` always did).
    expect(ok('name:x,property.plan:pro')).toEqual({ name: 'x', properties: { plan: 'pro' } });
    expect(refused('name:a,property.v:1,name:b').msg).toContain('names its name once');
  });

  test('refusals name the rule', () => {
    expect(refused('property.plan:pro')).toMatchObject({
      msg: 'a step\'s property conditions go with a name or a path (got "property.plan:pro")',
      type: 'value_error',
    });
    expect(refused('name:a,property.plan:')).toEqual({
      loc: ['query', 'step', 0],
      msg: 'the value of property.plan in a step must not be empty',
      type: 'string_too_short',
    });
    expect(refused('name:a,property.plan:x,property.plan:y')).toMatchObject({
      msg: expect.stringContaining('a step names property.plan once'),
    });
    expect(refused(`name:a,property.${'k'.repeat(121)}:v`)).toMatchObject({
      msg: "the key of a step's property condition is at most 120 characters",
      type: 'string_too_long',
    });
    const valueMax = queryLimits.stepPropertyValueCharsMax;
    expect(ok(`name:a,property.k:${'v'.repeat(valueMax)}`)).toMatchObject({ name: 'a' });
    expect(refused(`name:a,property.k:${'v'.repeat(valueMax + 1)}`)).toMatchObject({
      msg: `the value of a step's property condition is at most ${valueMax} characters`,
      type: 'string_too_long',
    });
    const max = queryLimits.stepPropertiesMax;
    const conditions = (n: number) =>
      Array.from({ length: n }, (_, i) => `property.k${i}:v`).join(',');
    expect(ok(`name:a,${conditions(max)}`)).toMatchObject({ name: 'a' });
    expect(refused(`name:a,${conditions(max + 1)}`)).toMatchObject({
      msg: `a step has at most ${max} property conditions`,
      type: 'too_long',
    });
    expect(refused('property.a,b:c,name:x').msg).toContain('property.<key>:<value>');
  });
});
