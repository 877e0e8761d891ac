// A funnel computed the slow, obvious way, to check the SQL of query/queries/get-funnel.ts:
// per actor, every step-1 event of the range is walked forward event by event.

import type { StoredEvent } from '../../src/core/index.ts';
import { PAGE_VIEW_NAMES } from '../../src/query/index.ts';
import { personOf } from './person-oracle.ts';

export interface OracleOptions {
  steps: { name?: string; path?: string }[];
  windowMs: number;
  by: 'visitor' | 'device' | 'person' | 'user' | 'session';
  fromMs?: number;
  toMs?: number;
  includeBots?: boolean;
}

export interface OracleStep {
  count: number;
  median: number | null;
  avg: number | null;
}

/** The id of each actor, as README "Funnels" defines it. */
const ACTOR = {
  visitor: (e: StoredEvent) => e.visitor_id,
  device: (e: StoredEvent) => e.anonymous_id ?? e.visitor_id,
  user: (e: StoredEvent) => e.user_id,
  session: (e: StoredEvent) => e.session_id,
} as const;

function matches(step: { name?: string; path?: string }, e: StoredEvent): boolean {
  const isView = PAGE_VIEW_NAMES.includes(e.name);
  const nameOk =
    step.name === undefined || PAGE_VIEW_NAMES.includes(step.name) ? isView : e.name === step.name;
  return nameOk && (step.path === undefined || e.path === step.path);
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

export function oracleFunnel(all: StoredEvent[], tenant: string, options: OracleOptions) {
  const byActor = new Map<string, StoredEvent[]>();
  const actorOf = options.by === 'person' ? personOf(all, tenant) : ACTOR[options.by];
  for (const e of all) {
    const actor = actorOf(e);
    if (e.tenant !== tenant || actor === null || actor === undefined) continue;
    if (e.is_bot && options.includeBots !== true) continue;
    if (!options.steps.some((step) => matches(step, e))) continue;
    byActor.set(actor, [...(byActor.get(actor) ?? []), e]);
  }
  // The times of each actor's path: the furthest reached, of its latest such entry.
  const paths: number[][] = [];
  for (const events of byActor.values()) {
    events.sort(compareEvents);
    let best: number[] | null = null;
    events.forEach((e, i) => {
      const inRange =
        (options.fromMs === undefined || e.timestamp >= options.fromMs) &&
        (options.toMs === undefined || e.timestamp < options.toMs);
      if (!inRange || !matches(options.steps[0] ?? {}, e)) return;
      const times = walk(events, i, options);
      if (best === null || times.length >= best.length) best = times;
    });
    if (best !== null) paths.push(best);
  }
  return options.steps.map((_, k): OracleStep => {
    const reached = paths.filter((p) => p.length > k);
    const gaps = reached.map((p) => ((p[k] as number) - (p[k - 1] as number)) / 1000);
    const none = k === 0 || gaps.length === 0;
    return {
      count: reached.length,
      median: none ? null : median(gaps),
      avg: none ? null : gaps.reduce((a, b) => a + b, 0) / gaps.length,
    };
  });
}
