// Cohort retention computed the slow, obvious way, to check the SQL of
// query/queries/get-cohorts.ts: each event's period is found from its local calendar date
// (Intl, not the code under test), periods are calendar dates counted one by one, and each
// cohort's members are checked for a return event period by period.

import type { StoredEvent } from '../../src/core/index.ts';
import { PAGE_VIEW_NAMES } from '../../src/query/index.ts';
import { personOf } from './person-oracle.ts';

export type OracleEvent = { name?: string; path?: string } | 'any';

export interface CohortOracleOptions {
  startEvent: OracleEvent;
  returnEvent: OracleEvent;
  kind: 'recurring' | 'first';
  by: 'visitor' | 'device' | 'person' | 'user';
  period: 'day' | 'week' | 'month';
  tz: string;
  periods: number;
  fromMs?: number;
  toMs?: number;
  nowMs: number;
  includeBots: boolean;
  os?: string;
}

/** A cohort as the oracle sees it: its period's first local date, and its counts. */
export interface OracleCohort {
  date: string;
  returned: number[];
}

/** The id of each actor, as README "Cohort retention" defines it. */
const ACTOR = {
  visitor: (e: StoredEvent) => e.visitor_id,
  device: (e: StoredEvent) => e.anonymous_id ?? e.visitor_id,
  user: (e: StoredEvent) => e.user_id,
} as const;

function matches(step: OracleEvent, e: StoredEvent): boolean {
  if (step === 'any') return true;
  const isView = PAGE_VIEW_NAMES.includes(e.name);
  const nameOk =
    step.name === undefined || PAGE_VIEW_NAMES.includes(step.name) ? isView : e.name === step.name;
  return nameOk && (step.path === undefined || e.path === step.path);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date of `ms` in `tz`, as a UTC midnight. */
function localDate(ms: number, tz: string): Date {
  let format = formats.get(tz);
  if (format === undefined) {
    const parts = { year: 'numeric', month: '2-digit', day: '2-digit' } as const;
    format = new Intl.DateTimeFormat('en-CA', { timeZone: tz, ...parts });
    formats.set(tz, format);
  }
  return new Date(`${format.format(new Date(ms))}T00:00:00Z`);
}

/** The first date of the period holding `date`: itself, its Monday, or the 1st. */
function periodDate(date: Date, period: CohortOracleOptions['period']): Date {
  const d = new Date(date);
  if (period === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (period === 'month') d.setUTCDate(1);
  return d;
}

/** The first date of the period `n` periods after the one starting on `date`. */
function shift(date: Date, period: CohortOracleOptions['period'], n: number): Date {
  const d = new Date(date);
  if (period === 'month') d.setUTCMonth(d.getUTCMonth() + n);
  else d.setUTCDate(d.getUTCDate() + (period === 'week' ? 7 * n : n));
  return d;
}

const keyOf = (d: Date) => d.toISOString().slice(0, 10);

export function oracleCohorts(
  all: StoredEvent[],
  tenant: string,
  options: CohortOracleOptions,
): OracleCohort[] {
  const { period, tz } = options;
  const toMs = options.toMs ?? options.nowMs;
  const endMs = Math.min(toMs, options.nowMs);
  const last = periodDate(localDate(endMs - 1, tz), period);
  const first =
    options.fromMs === undefined
      ? shift(last, period, -(options.periods - 1))
      : periodDate(localDate(options.fromMs, tz), period);
  const keys: string[] = [];
  for (let d = first; d <= last; d = shift(d, period, 1)) keys.push(keyOf(d));
  const indexOf = new Map(keys.map((key, i) => [key, i]));
  const periodIndex = (e: StoredEvent) =>
    indexOf.get(keyOf(periodDate(localDate(e.timestamp, tz), period)));

  // Per actor: the periods of its start events, of its return events, and its first start.
  const starts = new Map<string, Set<number>>();
  const returns = new Map<string, Set<number>>();
  const firstStart = new Map<string, StoredEvent>();
  const add = (map: Map<string, Set<number>>, actor: string, i: number) =>
    map.set(actor, (map.get(actor) ?? new Set()).add(i));
  const actorOf = options.by === 'person' ? personOf(all, tenant) : ACTOR[options.by];
  for (const e of all) {
    const actor = actorOf(e);
    if (e.tenant !== tenant || actor === null || actor === undefined) continue;
    if (e.is_bot && !options.includeBots) continue;
    if (options.os !== undefined && e.os !== options.os) continue;
    if (e.timestamp >= toMs) continue;
    if (matches(options.startEvent, e)) {
      const seen = firstStart.get(actor);
      if (seen === undefined || e.timestamp < seen.timestamp) firstStart.set(actor, e);
    }
    const i = periodIndex(e);
    if (i === undefined) continue;
    if (matches(options.startEvent, e) && options.kind === 'recurring') add(starts, actor, i);
    if (matches(options.returnEvent, e)) add(returns, actor, i);
  }
  if (options.kind === 'first') {
    for (const [actor, e] of firstStart) {
      const i = periodIndex(e);
      if (i !== undefined) add(starts, actor, i);
    }
  }
  return keys.map((date, i) => {
    const members = [...starts].filter(([, periods]) => periods.has(i)).map(([actor]) => actor);
    const length = Math.min(options.periods, keys.length - i);
    const returned = Array.from({ length }, (_, k) =>
      k === 0 ? members.length : members.filter((a) => returns.get(a)?.has(i + k)).length,
    );
    return { date, returned };
  });
}
