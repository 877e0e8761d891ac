// The event names Tally reserves: each is written by one ingest route only, from what its
// client sends under another spelling, and every other route refuses it as a bad name (a 422
// on the native API), since reads treat an event of that name as what that route wrote, not
// as an event a visitor did:
// - `$engagement`, Plausible's engagement beacon (core/engagement.ts), written by Plausible's
//   ingest from its `n: "engagement"`;
// - `$umami_identify`, Umami's identify data (core/uncounted.ts), written by Umami's ingest
//   from an `identify` item with data, and read back as Umami's session properties.

import { ENGAGEMENT_EVENT_NAME } from './engagement.ts';
import { UMAMI_IDENTIFY_EVENT_NAME } from './uncounted.ts';

/** Each reserved name and what Tally stores under it (the refusal says it). */
const RESERVED_NAMES: ReadonlyMap<string, string> = new Map([
  [ENGAGEMENT_EVENT_NAME, "Plausible's engagement beacons"],
  [UMAMI_IDENTIFY_EVENT_NAME, "Umami's identify data (its session properties)"],
]);

/** What Tally stores under the reserved `name`; undefined for a name not reserved. */
export function reservedNameUse(name: string): string | undefined {
  return RESERVED_NAMES.get(name);
}
