// The engagement beacon of Plausible's tracker (`n: "engagement"`, sent when a page is hidden
// or left: `sd` its greatest scroll depth in percent, `e` the milliseconds it was engaged
// with, and the page view's own `u`, `d`, `r`, `p`, `h`). Read as Plausible's
// Ingestion.Request reads it (put_engagement_fields): each an integer or its decimal text; a
// scroll depth over 100 is 100, a negative or other one is none; an engagement time from 0 up
// to 30 days, else none (old tracker scripts sent huge ones); a beacon with neither is refused.
// Stored under Tally's reserved name (core/engagement.ts) with both as integer properties.

import {
  DAY_MS,
  ENGAGEMENT_TIME_KEY,
  type FieldIssue,
  SCROLL_DEPTH_KEY,
  SCROLL_DEPTH_PERCENT_MAX,
} from '../../core/index.ts';

/** The name the tracker sends its beacons under. */
export const PLAUSIBLE_ENGAGEMENT_NAME = 'engagement';

/** Engagement times from this on are none: Plausible's @too_large_engagement_time. */
const ENGAGEMENT_TIME_MS_MAX = 30 * DAY_MS;

/** The properties a beacon is stored with. */
export interface EngagementProperties {
  [SCROLL_DEPTH_KEY]?: number;
  /** 0 when the beacon has none, as Plausible stores it. */
  [ENGAGEMENT_TIME_KEY]: number;
}

/** An integer, or the decimal text of one; else null. */
function integerOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : null;
  }
  return null;
}

/**
 * An engagement time as Plausible reads `e`: an integer (or its text) of milliseconds from 0
 * up to 30 days; else null (none).
 */
export function engagementTimeOf(value: unknown): number | null {
  const e = integerOf(value);
  return e === null || e < 0 || e >= ENGAGEMENT_TIME_MS_MAX ? null : e;
}

/**
 * The beacon's properties of `body`; with neither a scroll depth nor an engagement time, an
 * issue (Plausible's message, on its field `event_name`) and null.
 */
export function engagementOf(
  body: Record<string, unknown>,
  issues: FieldIssue[],
): { properties: EngagementProperties } | null {
  const sd = integerOf(body.sd);
  const depth = sd === null || sd < 0 ? null : Math.min(sd, SCROLL_DEPTH_PERCENT_MAX);
  const engaged = engagementTimeOf(body.e);
  if (depth === null && engaged === null) {
    issues.push({
      loc: ['body', 'event_name'],
      msg:
        "engagement event requires a valid integer value for at least one of 'sd' or 'e' " +
        'fields',
      type: 'value_error',
    });
    return null;
  }
  return {
    properties: {
      ...(depth === null ? {} : { [SCROLL_DEPTH_KEY]: depth }),
      [ENGAGEMENT_TIME_KEY]: engaged ?? 0,
    },
  };
}

/** A beacon's stored properties: its props, without a scroll depth as sent, and its own. */
export function beaconProperties(
  props: Record<string, unknown>,
  engagement: { properties: EngagementProperties },
): Record<string, unknown> {
  const properties: Record<string, unknown> = Object.fromEntries(
    Object.entries(props).filter(([key]) => key !== SCROLL_DEPTH_KEY),
  );
  return Object.assign(properties, engagement.properties);
}
