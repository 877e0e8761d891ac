// A funnel computed the slow, obvious way, to check the SQL of query/queries/get-funnel.ts:
// per actor, every step-1 event of the range is walked forward event by event; with a
// breakdown, each actor under the value of its counting entry's step-1 event, values ranked by
// actors and the ones past the listed folded (README "Funnels").

import type { StoredEvent } from '../../src/core/index.ts';
import { PAGE_VIEW_NAMES } from '../../src/query/index.ts';
import { personOf } from './person-oracle.ts';

export interface OracleStepMatch {
  name?: string;
  path?: string;
  properties?: Record<string, string>;
}

export type OracleBreakdown = { column: 'browser' | 'os' } | { property: string };

export interface OracleOptions {
  steps: OracleStepMatch[];
  windowMs: number;
  by: 'visitor' | 'device' | 'person' | 'user' | 'session';
  fromMs?: number;
  toMs?: number;
  includeBots?: boolean;
  /** Only events of this os (the `os` filter). */
  os?: string;
  breakdown?: OracleBreakdown;
}

export interface OracleStep {
  count: number;
  median: number | null;
  avg: number | null;
}

/** One value's funnel: `value` null for none and for the folded entry (`other`, of `folded`). */
export interface OracleBreakdownEntry {
  value: string | null;
  other: boolean;
  folded?: number;
  steps: OracleStep[];
}

/** The id of each actor, as README "Funnels" defines it. */
const ACTOR = {
  visitor: (e: StoredEvent) => e.visitor_id,
  device: (e: StoredEvent) => e.anonymous_id ?? e.visitor_id,
  user: (e: StoredEvent) => e.user_id,
  session: (e: StoredEvent) => e.session_id,
} as const;

/**
 * The property `key` as text (JSON text but for a string; a `$` key missing at the top looked
 * up under `$posthog`), null when absent or JSON null: as README "Funnels" compares a step's
 * property condition and reads a breakdown's value.
 */
function propertyText(e: StoredEvent, key: string): string | null {
  const properties = (e.properties ?? {}) as Record<string, unknown>;
  let value = properties[key];
  if ((value === undefined || value === null) && key.startsWith('$')) {
    value = ((properties.$posthog ?? {}) as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function matches(step: OracleStepMatch, e: StoredEvent): boolean {
  const isView = PAGE_VIEW_NAMES.includes(e.name);
  const nameOk =
    step.name === undefined || PAGE_VIEW_NAMES.includes(step.name) ? isView : e.name === step.name;
  const propertiesOk = Object.entries(step.properties ?? {}).every(
    ([key, value]) => propertyText(e, key) === value,
  );
  return nameOk && (step.path === undefined || e.path === step.path) && propertiesOk;
}

/** The breakdown's value of a step-1 event: empty text is none. */
function breakdownValue(breakdown: OracleBreakdown, e: StoredEvent): string | null {
  const text = 'column' in breakdown ? e[breakdown.column] : propertyText(e, breakdown.property);
  return text === '' ? null : text;
}

/** Byte order of UTF-8, as DuckDB compares VARCHARs. */
const compareText = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function compareEvents(a: StoredEvent, b: StoredEvent): number {
  return (
    a.timestamp - b.timestamp ||
    compareText(a.event_id, b.event_id) ||
    compareText(a.name, b.name) ||
    compareText(a.path ?? '\uffff', b.path ?? '\uffff')
  );
}

/** Times of each step reached from the entry at `start` (its index in `events`). */
function walk(events: StoredEvent[], start: number, options: OracleOptions): number[] {
  const first = events[start] as StoredEvent;
  const times = [first.timestamp];
  let at = start;
  for (const step of options.steps.slice(1)) {
    let next = at + 1;
    while (next < events.length && !matches(step, events[next] as StoredEvent)) next++;
    const found = events[next];
    if (found === undefined || found.timestamp - first.timestamp > options.windowMs) break;
    times.push(found.timestamp);
    at = next;
  }
  return times;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Each entered actor's path: the step times of its counting entry, and that entry's value. */
interface ActorPath {
  times: number[];
  value: string | null;
}

function actorPaths(all: StoredEvent[], tenant: string, options: OracleOptions): ActorPath[] {
  const byActor = new Map<string, StoredEvent[]>();
  const actorOf = options.by === 'person' ? personOf(all, tenant) : ACTOR[options.by];
  for (const e of all) {
    const actor = actorOf(e);
    if (e.tenant !== tenant || actor === null || actor === undefined) continue;
    if (e.is_bot && options.includeBots !== true) continue;
    if (options.os !== undefined && e.os !== options.os) continue;
    if (!options.steps.some((step) => matches(step, e))) continue;
    byActor.set(actor, [...(byActor.get(actor) ?? []), e]);
  }
  // The furthest reached, of its latest such entry.
  const paths: ActorPath[] = [];
  for (const events of byActor.values()) {
    events.sort(compareEvents);
    let best: ActorPath | null = null;
    events.forEach((e, i) => {
      const inRange =
        (options.fromMs === undefined || e.timestamp >= options.fromMs) &&
        (options.toMs === undefined || e.timestamp < options.toMs);
      if (!inRange || !matches(options.steps[0] ?? {}, e)) return;
      const times = walk(events, i, options);
      const value = options.breakdown === undefined ? null : breakdownValue(options.breakdown, e);
      if (best === null || times.length >= best.times.length) best = { times, value };
    });
    if (best !== null) paths.push(best);
  }
  return paths;
}

function stepsOf(paths: ActorPath[], options: OracleOptions): OracleStep[] {
  return options.steps.map((_, k): OracleStep => {
    const reached = paths.filter((p) => p.times.length > k);
    const gaps = reached.map((p) => ((p.times[k] as number) - (p.times[k - 1] as number)) / 1000);
    const none = k === 0 || gaps.length === 0;
    return {
      count: reached.length,
      median: none ? null : median(gaps),
      avg: none ? null : gaps.reduce((a, b) => a + b, 0) / gaps.length,
    };
  });
}

export function oracleFunnel(all: StoredEvent[], tenant: string, options: OracleOptions) {
  return stepsOf(actorPaths(all, tenant, options), options);
}

/**
 * The breakdown entries: the `listed` values with the most actors entered (ties by value, byte
 * order, none last), then one entry of the others' actors if any.
 */
export function oracleBreakdowns(
  all: StoredEvent[],
  tenant: string,
  options: OracleOptions,
  listed: number,
): OracleBreakdownEntry[] {
  const byValue = new Map<string | null, ActorPath[]>();
  for (const path of actorPaths(all, tenant, options)) {
    byValue.set(path.value, [...(byValue.get(path.value) ?? []), path]);
  }
  const order = (a: string | null, b: string | null) =>
    a === null ? 1 : b === null ? -1 : compareText(a, b);
  const ranked = [...byValue].sort(([a, x], [b, y]) => y.length - x.length || order(a, b));
  const entries = ranked
    .slice(0, listed)
    .map(([value, paths]) => ({ value, other: false, steps: stepsOf(paths, options) }));
  const folded = ranked.slice(listed).flatMap(([, paths]) => paths);
  if (folded.length === 0) return entries;
  const other = { value: null, other: true, folded: ranked.length - listed };
  return [...entries, { ...other, steps: stepsOf(folded, options) }];
}
