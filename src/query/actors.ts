// Whom a funnel or a cohort read follows (their `by`): each actor is a fixed SQL expression over
// the event row `e`. The reads put it into their SQL as it is, so it comes only from these
// closed maps, picked by a `by` value the route checked against their keys: never user text.

import { assert } from '../core/index.ts';

/** Every actor's expression; a read offers some of them (FUNNEL_ACTORS, COHORT_ACTORS). */
export const ACTOR_SQL = {
  /** visitor_id: the user_id, else the anonymous_id, else a keyed daily hash (ingest). */
  visitor: 'e."visitor_id"',
  /**
   * The browser or device: the SDK's anonymous id where it sent one, else the visitor. It stays
   * across a sign-up, where the visitor becomes the new user_id: Segment's analytics.js sends
   * one anonymousId before and after identify, posthog-js one $device_id (its anonymous_id).
   */
  device: 'coalesce(e."anonymous_id", e."visitor_id")',
  user: 'e."user_id"',
  session: 'e."session_id"',
} as const;

/** The expression of `by` in `actors`; a `by` outside the map is a bug (the route checks it). */
export function actorSql<A extends string>(actors: Readonly<Record<A, string>>, by: A): string {
  // Own keys only: `toString` or `constructor` would otherwise give an inherited function.
  assert(Object.hasOwn(actors, by), 'the actor of a read is a key of its own map');
  return actors[by];
}
