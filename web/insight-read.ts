// What the funnel and retention panels share: what they read over (the stats panel's period
// of local days and the page's time zone), and how a read that failed is shown, as the stats
// panel shows it: a busy server (429/503) is waited out by its Retry-After and tried again by
// itself, a 401 a refresh did not cure asks for a key, a 422 shows the API's rules with the
// fields they name. The read lifecycle built on these is web/insight-panel.ts.

import { type Access, busyNote, ReadBusy, ReadInvalid, ReadUnauthorized } from './api.ts';
import { issueText } from './insights-format.ts';
import { type DayRange, formatDays, statsParams } from './period.ts';
import type { ReadOutcome } from './serial-read.ts';
import { setNote } from './view.ts';

export { setNote };

export interface InsightDeps {
  access: () => Access;
  /** The page's time zone. */
  timeZone: () => string;
  /** The stats panel's period, as local days of the page's zone; null when none is valid. */
  days: () => DayRange | null;
  /** Whether the panel is on screen (the page is not locked). */
  shown: () => boolean;
  /** A 401 that a refresh did not cure; `detail` is the server's reason. */
  onUnauthorized: (detail: string) => void;
}

/** What a read is over: its query parameters (date or from/to, and tz), and its label. */
export interface InsightRange {
  params: Record<string, string>;
  label: string;
  /** The days and zone, as the panel's `data-shown` gives them to tests and tools. */
  key: string;
}

/** The range of the stats period in the page's zone; null when the custom days are not valid. */
export function insightRange(deps: InsightDeps): InsightRange | null {
  const days = deps.days();
  if (days === null) return null;
  const tz = deps.timeZone();
  return {
    params: statsParams(days, tz),
    label: `${formatDays(days)} · ${tz}`,
    key: `${tz} ${days.from}/${days.to}`,
  };
}

export const NO_RANGE = 'Pick a start and an end day for the stats period, the start first.';

/** Shows why a read failed on `note` (`what`: "The funnel"), and whether to retry it. */
export function showFailure(
  error: unknown,
  note: HTMLElement,
  what: string,
  onUnauthorized: (detail: string) => void,
): ReadOutcome {
  if (error instanceof ReadBusy) {
    // The project's reads are full (other tabs, other readers), or the refresh of an expired
    // access token waits: wait as the server asks.
    setNote(note, busyNote(error));
    return { kind: 'busy', retryAfterMs: error.retryAfterMs };
  }
  if (error instanceof ReadInvalid) {
    const rules = error.issues.length > 0 ? error.issues.map(issueText) : [error.message];
    setNote(note, `${what} was not read: ${rules.join('; ')}`, true);
    return { kind: 'done' };
  }
  if (error instanceof ReadUnauthorized) onUnauthorized(error.message);
  const text = error instanceof Error ? error.message : String(error);
  setNote(note, `${what} could not be loaded: ${text}`, true);
  return { kind: 'done' };
}
