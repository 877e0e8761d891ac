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

import { eventLimits, POSTHOG_PROPERTIES_KEY } from '../../core/index.ts';

/** Person and group updates: at the top, and the last keys cut to fit the limits. */
export const POSTHOG_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  '$set',
  '$set_once',
  '$unset',
  '$groups',
]);

/** `properties` as stored: see the header. */
export function storedProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const stored: [string, unknown][] = [];
  const sdk: [string, unknown][] = [];
  for (const [key, value] of Object.entries(properties)) {
    if (value === null) continue;
    if (key.startsWith('$') && !POSTHOG_TOP_LEVEL_KEYS.has(key)) sdk.push([key, value]);
    else stored.push([key, value]);
  }
  if (sdk.length > 0) stored.push([POSTHOG_PROPERTIES_KEY, Object.fromEntries(sdk)]);
  // Defined, not assigned: assigning a "__proto__" property would set the object's prototype
  // instead, and the property would vanish from the stored event.
  return Object.fromEntries(stored);
}

/**
 * The device an identified event was sent from: `$device_id` when it is a non-empty string of
 * at most `idCharsMax` characters (as any id); else none, and the event is stored without an
 * anonymous_id, never refused for it (it stays in `$posthog` as sent).
 */
export function deviceIdOf(properties: Record<string, unknown>): string | undefined {
  const value = properties.$device_id;
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length <= eventLimits.idCharsMax ? value : undefined;
}
