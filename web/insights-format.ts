// How the funnel and retention panels write what they send and show: a step or a cohort
// event as the API's step syntax, a step as a person reads it, rates as percentages, a
// cohort's period as a local day, week or month, the shade of a retention cell, and a 422's
// issue with the field it names. Pure functions of their arguments and a locale: no DOM.

/** What a funnel step matches in the form: an event name or a page path. */
export type StepKind = 'name' | 'path';

/** The step syntax of GET /api/v1/funnel: `name:signup`, `path:/pricing`. */
export function stepParam(kind: StepKind, text: string): string {
  return `${kind}:${text.trim()}`;
}

/**
 * How a step field says it takes property conditions: typed after the name or path, they are
 * sent as they are (`purchase,property.plan:pro`), in the API's step syntax.
 */
export const STEP_FIELD_HINT =
  'Add ,property.<key>:<value> to match only events with that property (plan=pro: ' +
  'purchase,property.plan:pro)';

/**
 * A step as the API echoes it (`{name}`, `{path}` or both, and its property conditions), as a
 * person reads it: "purchase where plan = pro".
 */
export function stepLabel(match: {
  name?: string;
  path?: string;
  properties?: Record<string, string>;
}): string {
  const conditions = Object.entries(match.properties ?? {}).map(([k, v]) => `${k} = ${v}`);
  const where = conditions.length === 0 ? '' : ` where ${conditions.join(' and ')}`;
  return `${eventLabel(match)}${where}`;
}

function eventLabel(match: { name?: string; path?: string }): string {
  if (match.name !== undefined && match.path !== undefined) {
    return `${match.name} on ${match.path}`;
  }
  if (match.path !== undefined) return `Page view of ${match.path}`;
  return match.name ?? '';
}

/** The conversion window of the form, `14` and `d`, as the API's `window` (`14d`). */
export function windowParam(amount: string, unit: string): string {
  return `${amount.trim()}${unit}`;
}

/** What a cohort's start or return event is in the form. */
export type CohortEventKind = 'page_view' | 'any' | 'name' | 'path' | 'same';

/**
 * A cohort event in the API's syntax (`any`, `name:signup`, `path:/pricing`; a page view is
 * `name:page_view`, which matches every page view); null for "same as the start event"
 * (the parameter is then left out, and the API takes the start event).
 */
export function cohortEventParam(kind: CohortEventKind, text: string): string | null {
  switch (kind) {
    case 'same':
      return null;
    case 'any':
      return 'any';
    case 'page_view':
      return 'name:page_view';
    case 'name':
    case 'path':
      return stepParam(kind, text);
  }
}

/** A rate (0.5) as a percentage with at most one decimal ("50%", "66.7%"); "–" for none. */
export function formatPercent(ratio: number | null, locale?: string): string {
  if (ratio === null || !Number.isFinite(ratio)) return '–';
  const format = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  return format.format(ratio);
}

/** The rates of a cohort's cells: returned[k] over its size; null when the cohort is empty. */
export function retentionRates(cohort: { size: number; returned: number[] }): (number | null)[] {
  return cohort.returned.map((n) => (cohort.size === 0 ? null : n / cohort.size));
}

/**
 * How strongly a retention cell is shaded, 0 to 1: its rate, with a floor so a small share
 * still shows; 0 for no one (or an empty cohort).
 */
export function shadeOf(ratio: number | null): number {
  if (ratio === null || ratio <= 0) return 0;
  return Math.round(Math.min(1, 0.08 + ratio * 0.92) * 1000) / 1000;
}

export type CohortPeriodName = 'day' | 'week' | 'month';

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/**
 * A cohort's start (ISO 8601 with the offset of the read's zone, so its date is the local
 * one) as its period: "Mon, Nov 24, 2025", "Week of Nov 24, 2025" or "November 2025".
 */
export function cohortLabel(start: string, period: CohortPeriodName, locale?: string): string {
  const m = LOCAL_DATE.exec(start);
  if (m === null) return start;
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const format = (options: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' }).format(day);
  if (period === 'month') return format({ year: 'numeric', month: 'long' });
  const date = format({ year: 'numeric', month: 'short', day: 'numeric' });
  if (period === 'week') return `Week of ${date}`;
  return `${format({ weekday: 'short' })}, ${date}`;
}

/** The heading of a retention column: "Day 0", "Week 2", "Month 1". */
export function periodHeading(period: CohortPeriodName, k: number): string {
  return `${period.charAt(0).toUpperCase()}${period.slice(1)} ${k}`;
}

/** The fields of the forms by the name a 422 gives them (its loc after "query"). */
const FIELD_LABELS: Record<string, string> = {
  window: 'Conversion window',
  by: 'Count by',
  start: 'Start event',
  return: 'Return event',
  period: 'Period',
  periods: 'Periods',
  cohort: 'Cohort type',
  from: 'From',
  to: 'To',
  date: 'Day',
  tz: 'Time zone',
};

/**
 * A 422 issue with the form field it names: "Step 2: the name of a step must not be empty",
 * "Conversion window: window is …"; the rule alone where the field is not the form's.
 */
export function issueText(issue: { loc: (string | number)[]; msg: string }): string {
  const [where, field, index] = issue.loc;
  if (where !== 'query' || typeof field !== 'string') return issue.msg;
  if (field === 'step') {
    return typeof index === 'number' ? `Step ${index + 1}: ${issue.msg}` : `Steps: ${issue.msg}`;
  }
  const label = FIELD_LABELS[field];
  return label === undefined ? issue.msg : `${label}: ${issue.msg}`;
}

const WINDOW_UNITS = [
  { seconds: 86_400, one: 'day', many: 'days' },
  { seconds: 3600, one: 'hour', many: 'hours' },
  { seconds: 60, one: 'minute', many: 'minutes' },
  { seconds: 1, one: 'second', many: 'seconds' },
] as const;

/** A conversion window in seconds as its largest whole unit: "14 days", "90 minutes". */
export function formatWindow(seconds: number): string {
  const unit = WINDOW_UNITS.find((u) => seconds % u.seconds === 0) ?? WINDOW_UNITS[3];
  const n = seconds / unit.seconds;
  return `${n} ${n === 1 ? unit.one : unit.many}`;
}
