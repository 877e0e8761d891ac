// The event names that are stored but never counted: every read that counts, lists or rolls up
// events leaves them out (storage's `from` relation and its minute counts, the live rollups);
// raw access (the SQL view, the export, one event by id) shows them. They record no action of
// a visitor:
// - `$engagement`, Plausible's engagement beacon (core/engagement.ts);
// - `$groupidentify`, which PostHog's SDKs send to set a group's properties (`$group_type`,
//   `$group_key`, `$group_set`): posthog-node's groupIdentify() under a made-up distinct_id
//   `$<type>_<key>`. PostHog's ingestion upserts the group from it (the person it also makes
//   of that id is a known flaw, PostHog/posthog#7921); Tally has no groups, so it keeps the
//   event as sent, and counting it would make every group one more user and visitor.
// - `$umami_identify`, Umami's `identify` item with data: the session properties Umami keeps
//   in its session_data, which Umami's session data reads answer (http/compat's
//   umami-session-data.ts); Umami counts no identify as an event.

import { ENGAGEMENT_EVENT_NAME } from './engagement.ts';

/** PostHog's group update event. */
const GROUP_IDENTIFY_EVENT_NAME = '$groupidentify';

/** Umami's identify item (its data: the session's properties). */
export const UMAMI_IDENTIFY_EVENT_NAME = '$umami_identify';

/** The names stored but never counted (see the header). */
export const UNCOUNTED_EVENT_NAMES: readonly string[] = [
  ENGAGEMENT_EVENT_NAME,
  GROUP_IDENTIFY_EVENT_NAME,
  UMAMI_IDENTIFY_EVENT_NAME,
];

const UNCOUNTED = new Set(UNCOUNTED_EVENT_NAMES);

/** False for an event name that reads never count (UNCOUNTED_EVENT_NAMES). */
export function isCountedEventName(name: string): boolean {
  return !UNCOUNTED.has(name);
}
