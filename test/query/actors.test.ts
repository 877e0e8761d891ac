// The actors of funnels and cohorts are fixed SQL from closed maps: a `by` outside a read's own
// map (an inherited key among them) is a bug that stops the read, never SQL made of its text.

import { describe, expect, test } from 'bun:test';
import { InvariantError } from '../../src/core/index.ts';
import { ACTOR_SQL, actorSql } from '../../src/query/actors.ts';
import { COHORT_ACTORS } from '../../src/query/cohort-params.ts';
import { FUNNEL_ACTORS } from '../../src/query/funnel-params.ts';

describe('actorSql', () => {
  test("each read's actors are the shared expressions; device is anonymous_id, else visitor", () => {
    expect(actorSql(FUNNEL_ACTORS, 'device')).toBe('coalesce(e."anonymous_id", e."visitor_id")');
    expect(actorSql(COHORT_ACTORS, 'device')).toBe(ACTOR_SQL.device);
    expect(Object.keys(FUNNEL_ACTORS)).toEqual(['visitor', 'device', 'person', 'user', 'session']);
    // The default first.
    expect(Object.keys(COHORT_ACTORS)).toEqual(['visitor', 'device', 'person', 'user']);
  });

  test('a key outside the map, inherited ones included, is an invariant broken', () => {
    for (const by of ['session', 'toString', 'constructor', '__proto__', 'e."x"']) {
      expect(() => actorSql(COHORT_ACTORS, by as keyof typeof COHORT_ACTORS)).toThrow(
        InvariantError,
      );
    }
  });
});
