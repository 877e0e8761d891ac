// Which of a PostHog event's properties Tally keeps where. posthog-js adds some 40–60
// properties of its own to every event (`$browser_version`, `$screen_width`, `$session_entry_*`,
// `$prev_pageview_*`, `$lib_rate_limit_remaining_tokens`, …), and once a page's URL carries any
// campaign parameter it adds all ~26 of them, null but the ones present: a landing page with
// `?utm_source=x` gives 80–100 keys, past the unified event's 64, so every event of that visit
// would be refused. Stored instead: the event's own properties (the app's and the campaign's)
// at the top, where `property.<key>` filters and breakdowns find them; PostHog's `$` properties
// together under one key, `$posthog`, the same for every event; null values nowhere (a null
// property reads the same as an absent one). Person and group updates (`$set`, `$set_once`,
// `$unset`, `$groups`) stay at the top, as PostHog's ingestion reads them there.
//
// `$device_id`, which posthog-js puts on every event and keeps through `identify` (while
// `distinct_id` switches from its anonymous id to the user id), is also an identified event's
// anonymous_id (deviceIdOf): one browser before and after a sign-up (`by=device` reads). It
// stays in `$posthog` as well, where events stored before carry it, so one SQL finds it in all.
// `$identify`, `$create_alias` and `$merge_dangerously` instead keep the id they merge as
// anonymous_id (identityOf): what `by=person` reads link to the user.

import { eventLimits, INTERACTIVE_KEY, POSTHOG_PROPERTIES_KEY } from '../../core/index.ts';
import type { ClientNames } from '../prepare.ts';
import { fittedIdOf } from './fitted-fields.ts';
import { objectOf } from './ingest.ts';

/**
 * The distinct_id posthog-js sends for everyone in cookieless mode (`cookieless_mode`), and the
 * `$anon_distinct_id` of its `$identify` there: no one. PostHog's ingestion puts a hash of the
 * address, agent and site in its place; Tally's cookieless visitor hash (engine/visitor-id.ts)
 * does the same for an event without ids.
 */
export const COOKIELESS_DISTINCT_ID = '$posthog_cookieless';

/** The flag posthog-js sets on every event of cookieless mode. */
export const COOKIELESS_MODE_KEY = '$cookieless_mode';

/** Person and group updates: at the top, and the last keys cut to fit the limits. */
export const POSTHOG_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  '$set',
  '$set_once',
  '$unset',
  '$groups',
]);

/**
 * The events PostHog's SDKs send of themselves that are no interaction: `$pageleave` (posthog-js's
 * beacon at every page hide), identity and person updates (`$identify`, `$create_alias`,
 * `$merge_dangerously`, `$set`, `$groupidentify`), flag checks (`$feature_flag_called`),
 * measurements (`$web_vitals`, `$$heatmap`), `$opt_in` and captured errors (`$exception`).
 * Stored non-interactive (INTERACTIVE_KEY false), as Plausible's `i: false`, so that a one-page
 * visit stays a bounce: PostHog's own bounce counts only page views and autocapture, and a site
 * calling `identify` at every page load would otherwise have none.
 */
const NON_INTERACTIVE_EVENTS: ReadonlySet<string> = new Set([
  '$pageleave',
  '$identify',
  '$create_alias',
  '$merge_dangerously',
  '$set',
  '$groupidentify',
  '$feature_flag_called',
  '$web_vitals',
  '$$heatmap',
  '$opt_in',
  '$exception',
]);

/** `properties` as stored: see the header; `name` is the event's. */
export function storedProperties(
  properties: Record<string, unknown>,
  name: string,
): Record<string, unknown> {
  const stored: [string, unknown][] = [];
  const sdk: [string, unknown][] = [];
  for (const [key, value] of Object.entries(properties)) {
    if (value === null) continue;
    if (key.startsWith('$') && !POSTHOG_TOP_LEVEL_KEYS.has(key)) sdk.push([key, value]);
    else stored.push([key, value]);
  }
  if (sdk.length > 0) stored.push([POSTHOG_PROPERTIES_KEY, Object.fromEntries(sdk)]);
  if (NON_INTERACTIVE_EVENTS.has(name)) stored.push([INTERACTIVE_KEY, false]);
  // Defined, not assigned: assigning a "__proto__" property would set the object's prototype
  // instead, and the property would vanish from the stored event.
  return Object.fromEntries(stored);
}

/**
 * Where a captured `event`'s fields came from, so that an issue of the event rules names what
 * the SDK sent, not the unified event's field: `uuid`, `event`, and a property as the SDK put
 * it, `properties.$screen_width` (stored in the `$posthog` bag) or a top-level `$set.plan` (merged
 * into the properties' `$set`, its keys winning: inputOf), not `properties.$posthog.…`.
 */
export function postHogNamesOf(event: Record<string, unknown>): ClientNames {
  const sent = objectOf(event.properties) ?? {};
  const fromTop = ([key, entry]: readonly (string | number)[]): boolean => {
    if (key !== '$set' && key !== '$set_once') return false;
    const top = event[key];
    if (entry === undefined) return top !== undefined && sent[key] === undefined;
    const update = objectOf(top);
    return update !== undefined && Object.hasOwn(update, entry);
  };
  return {
    event_id: 'uuid',
    name: 'event',
    properties: (within) =>
      within[0] === POSTHOG_PROPERTIES_KEY
        ? ['properties', ...within.slice(1)]
        : fromTop(within)
          ? [...within]
          : ['properties', ...within],
  };
}

/**
 * An id sent in a property: a non-empty string of at most `idCharsMax` characters (as any id);
 * else none, and the event is stored without it, never refused for it (it stays as sent).
 */
function idOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length <= eventLimits.idCharsMax ? value : undefined;
}

/**
 * An id that `$identify` or `$create_alias` merges: a non-empty string, or a finite number as
 * its text, as a numeric distinct_id is read and as PostHog merges String(id) (server SDKs pass
 * a database id as it is); fitted as a distinct_id is (fittedIdOf), so a long one
 * names the events stored under it.
 */
function mergedIdOf(value: unknown): string | undefined {
  const id = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  const named = typeof id === 'string' && id !== '' && id !== COOKIELESS_DISTINCT_ID;
  return named ? fittedIdOf(id) : undefined;
}

/** The device an identified event was sent from: `$device_id`, when it is an id (idOf). */
function deviceIdOf(properties: Record<string, unknown>): string | undefined {
  return idOf(properties.$device_id);
}

/**
 * The events that merge their `alias` into their distinct_id: `$create_alias`, and
 * `$merge_dangerously`, which PostHog's ingestion merges alike (without the checks that refuse
 * to merge two identified persons, which Tally's one-hop links keep: see identityOf).
 */
const ALIAS_EVENTS: ReadonlySet<string> = new Set(['$create_alias', '$merge_dangerously']);

/** The user_id and anonymous_id of a captured event (see the header). */
export interface PostHogIdentity {
  user_id?: string | undefined;
  anonymous_id?: string | undefined;
}

/**
 * Whose event it is. An anonymous one ($is_identified or $process_person_profile false) is its
 * distinct_id's, as anonymous_id. An identified one is its distinct_id's, as user_id, with the
 * anonymous id it is linked to as anonymous_id (`by=person` reads merge the two): for
 * `$identify`, the anonymous distinct id it merges, `$anon_distinct_id` (posthog-js and the
 * mobile SDKs send it; after a reset() it is no longer the `$device_id`); for `$create_alias`
 * and `$merge_dangerously` (ALIAS_EVENTS), its `alias`; else, or when that is not an id,
 * `$device_id`. An anonymous one of those (posthog-js's alias() before identify) links its
 * distinct_id to the alias: the alias is its user_id. The names stay in the properties as
 * sent. An event of no one (the cookieless sentinel, `distinctId` undefined) has neither: its
 * visitor is the address and agent's hash.
 */
export function identityOf(
  name: string,
  distinctId: string | undefined,
  properties: Record<string, unknown>,
  anonymous: boolean,
): PostHogIdentity {
  if (distinctId === undefined) return {};
  const alias = ALIAS_EVENTS.has(name) ? mergedIdOf(properties.alias) : undefined;
  if (anonymous) return { anonymous_id: distinctId, user_id: alias };
  const merged = name === '$identify' ? mergedIdOf(properties.$anon_distinct_id) : alias;
  return { user_id: distinctId, anonymous_id: merged ?? deviceIdOf(properties) };
}
