// An event name Tally reserves (core/reserved.ts): the engagement beacon of Plausible's
// tracker (how long a page was looked at, how far it was scrolled), stored as an event so
// Plausible's scroll depth and time on page can be read from it, but never counted as one. `$`
// marks it as Tally's, as PostHog marks its own events (`$pageview`); no client may send it
// (422), only Plausible's ingest writes it (from its `n: "engagement"`). Every read that
// counts, lists or rolls up events leaves it out (core/uncounted.ts: storage's `from`
// relation, the live rollups); raw access (the SQL view, the export, one event by id) shows it.

/** The stored name of an engagement beacon. */
export const ENGAGEMENT_EVENT_NAME = '$engagement';

/** Its property holding the page's greatest scroll depth, a whole percent 0–100. */
export const SCROLL_DEPTH_KEY = '$scroll_depth';

/** The greatest scroll depth, in percent (Plausible's). */
export const SCROLL_DEPTH_PERCENT_MAX = 100;

/** Its property holding the time the page was engaged with, in whole milliseconds. */
export const ENGAGEMENT_TIME_KEY = '$engagement_time';

/**
 * The property of an event that does not end a bounce (`false`): Plausible's `i: false`, and
 * PostHog's `$pageleave`, the beacon posthog-js sends at every page hide. Stored at the top of
 * the properties, where the visit reads (query/queries/visit-rows.ts) look for it.
 */
export const INTERACTIVE_KEY = '$interactive';
