// Whom a funnel or a cohort read follows (their `by`): each actor is a fixed SQL expression over
// the event row `e`. The reads put it into their SQL as it is, so it comes only from these
// closed maps, picked by a `by` value the route checked against their keys: never user text.
//
// A person merges identities, as PostHog merges an anonymous distinct id into the person it is
// identified as: an event's person is its user_id; else the user its anonymous_id is linked to;
// else its device (anonymous_id, else visitor_id). An anonymous id is linked to the user_id of
// the earliest event of the tenant carrying both (by timestamp, then event_id; of one event
// stored twice, resent past the deduplication window, the smaller user_id): the first
// identify wins, later ones do not move it (PostHog refuses to merge an identified person into
// another on identify). One hop: a user id is never merged into another user id. Nor is an id
// that stems from a client's bug ("undefined", "null", "0", blank: GENERIC_IDS) linked, on
// either side, as PostHog refuses to merge one (its isDistinctIdIllegal): the anonymous events
// of every browser whose id read "undefined" are not the first user's seen with it. The links
// come from every event of the tenant (PERSON_LINKS, read from the snapshot's whole history,
// flushed or not), not only those of the read's range or filters.

import { assert } from '../core/index.ts';
import type { TimeRange } from '../storage/index.ts';
import { sqlString } from './sql-literals.ts';

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
  /** The user_id, else the user the anonymous_id is linked to (`l`, PERSON_LINKS), else device. */
  person: 'coalesce(e."user_id", l."user_id", e."anonymous_id", e."visitor_id")',
  user: 'e."user_id"',
  session: 'e."session_id"',
} as const;

export type ActorName = keyof typeof ACTOR_SQL;

/** The expression of `by` in `actors`; a `by` outside the map is a bug (the route checks it). */
export function actorSql<A extends string>(actors: Readonly<Record<A, string>>, by: A): string {
  // Own keys only: `toString` or `constructor` would otherwise give an inherited function.
  assert(Object.hasOwn(actors, by), 'the actor of a read is a key of its own map');
  return actors[by];
}

/** The links of ACTOR_SQL.person: per anonymous id, the user_id of its first event with both. */
const PERSON_LINKS = 'person_links';

/**
 * Ids that link no one (PostHog's isDistinctIdIllegal): these in any case, and the exact ones;
 * each also in single or double quotes, as clients send them too. Blank ids are generic too.
 */
const GENERIC_IDS = {
  anyCase: [
    ...['anonymous', 'guest', 'distinctid', 'distinct_id', 'id', 'not_authenticated'],
    ...['email', 'undefined', 'true', 'false'],
  ],
  exact: ['[object Object]', 'NaN', 'None', 'none', 'null', '0', 'undefined'],
} as const;

const quotedToo = (ids: readonly string[]) =>
  ids
    .flatMap((id) => [id, `'${id}'`, `"${id}"`])
    .map(sqlString)
    .join(', ');

/** Whether the id `column` may be linked: not generic (GENERIC_IDS) nor blank (JS's trim). */
function linkable(column: string): string {
  return `NOT (lower(${column}) IN (${quotedToo(GENERIC_IDS.anyCase)})
      OR ${column} IN (${quotedToo(GENERIC_IDS.exact)})
      OR regexp_full_match(${column}, '[\\s\\v\\p{Z}\\x{FEFF}]*'))`;
}

export interface ActorRows {
  /** Common table expressions the rows read (`name AS (…)`), to come first in a WITH. */
  ctes: string[];
  /** The events as `e`, with what the actor's expression reads besides: for a FROM. */
  rows: string;
}

/**
 * The rows a read of `by` takes its events and actors from, over the snapshot relation `from`:
 * the events alone, or for `person` each joined to the link of its anonymous_id (`l`). One
 * aggregate over the tenant's events that carry both ids, and one hash join: no subquery per
 * row.
 */
export function actorRows(by: ActorName, from: string): ActorRows {
  if (by !== 'person') return { ctes: [], rows: `${from} AS e` };
  const links = `${PERSON_LINKS} AS (
      SELECT x."anonymous_id",
        arg_min(x."user_id", (x."timestamp", x.event_id, x."user_id")) AS "user_id"
      FROM ${from} AS x
      WHERE x."anonymous_id" IS NOT NULL AND x."user_id" IS NOT NULL
        AND ${linkable('x."anonymous_id"')} AND ${linkable('x."user_id"')}
      GROUP BY x."anonymous_id"
    )`;
  return {
    ctes: [links],
    rows: `${from} AS e LEFT JOIN ${PERSON_LINKS} AS l ON l."anonymous_id" = e."anonymous_id"`,
  };
}

/**
 * The time range of the snapshot a read of `by` takes, for pruning segments: a person's links
 * may be on any day, so `person` reads every segment (the read's own rows are still cut to its
 * range by its conditions).
 */
export function actorRange(by: ActorName, range: TimeRange): TimeRange {
  return by === 'person' ? {} : range;
}
