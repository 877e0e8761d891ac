// Turns a tenant's rollup snapshot into the JSON text of a live message, and a client's text
// into a request. A snapshot's content (everything but `type` and `at`) is rendered once per
// topic per push and compared with the last one sent, so an unchanged topic stays quiet.

import { Value } from '@sinclair/typebox/value';
import { OTHER_NAME, type RollupSnapshot } from '../engine/index.ts';
import type { LiveLimits } from './limits.ts';
import {
  LiveClientMessage,
  type LiveNameCount,
  LiveSubscribeMessage,
  type LiveWindowCounters,
} from './schema.ts';

type WindowName = keyof RollupSnapshot['windows'];
type NamedCounts = RollupSnapshot['names'][number];

const WINDOW_SECONDS: Record<WindowName, number> = {
  '1m': 60,
  '5m': 300,
  '1h': 3600,
  '24h': 86400,
};
const WINDOWS = Object.keys(WINDOW_SECONDS) as WindowName[];

/** What a client asked for. */
export type ClientRequest =
  | { kind: 'subscribe'; names: readonly string[] | null }
  | { kind: 'unsubscribe' }
  | { kind: 'invalid'; code: 'bad_request' | 'payload_too_large'; detail: string };

/** Four significant digits: a small tenant's 24 h rate is not rounded to 0. */
const rate = (n: number) => Number(n.toPrecision(4));

/**
 * The content of a snapshot message as JSON: a JSON object without `type` and `at`, which
 * `snapshotMessage` adds. `names` null means all names (the top `namesShownMax` per window).
 */
export function renderSnapshotContent(
  tenant: string,
  snapshot: RollupSnapshot,
  names: readonly string[] | null,
  namesShownMax: number,
): string {
  const wanted = names === null ? null : new Set(names);
  const filter = names === null ? null : { names, byName: namesOf(snapshot) };
  const windows = {} as Record<WindowName, LiveWindowCounters>;
  for (const w of WINDOWS) {
    const counters = snapshot.windows[w];
    windows[w] = {
      events: counters.events,
      uniques: counters.uniques,
      events_per_second: rate(counters.events / WINDOW_SECONDS[w]),
      names: filter === null ? topNames(snapshot.names, w, namesShownMax) : requested(filter, w),
      top_paths: counters.top_paths,
    };
  }
  const metrics = snapshot.latest_metrics
    .filter((m) => wanted === null || wanted.has(m.name))
    .sort((a, b) => b.timestamp - a.timestamp || (a.name < b.name ? -1 : 1))
    .slice(0, wanted === null ? namesShownMax : undefined);
  return JSON.stringify({
    tenant,
    names_filter: names,
    events_per_second: rate(snapshot.events_per_second),
    windows,
    latest_metrics: metrics,
  });
}

function topNames(all: readonly NamedCounts[], w: WindowName, max: number) {
  return all
    .filter((n) => n[w] > 0)
    .sort((a, b) => b[w] - a[w] || (a.name < b.name ? -1 : 1))
    .slice(0, max)
    .map((n) => ({ name: n.name, events: n[w] }));
}

/**
 * A snapshot's names by name, built once per snapshot: every filtered topic of a push reads it
 * for each of the 4 windows, and building it (up to ROLLUP_NAMES_MAX names) was most of the
 * cost of a filtered message when each window built its own.
 */
const lookups = new WeakMap<RollupSnapshot, ReadonlyMap<string, NamedCounts>>();

function namesOf(snapshot: RollupSnapshot): ReadonlyMap<string, NamedCounts> {
  let byName = lookups.get(snapshot);
  if (byName === undefined) {
    byName = new Map(snapshot.names.map((n) => [n.name, n]));
    lookups.set(snapshot, byName);
  }
  return byName;
}

/**
 * Exactly the requested names. Past ROLLUP_NAMES_MAX names in 24 h later names share
 * OTHER_NAME's counter, so a name may have events there: one without a counter of its own
 * while OTHER_NAME counted events in the window is unknown (`events: null, in_other: true`),
 * never 0; one that got its own counter later reports what it counted since (a lower bound)
 * with `in_other: true`.
 */
function requested(
  { names, byName }: { names: readonly string[]; byName: ReadonlyMap<string, NamedCounts> },
  w: WindowName,
): LiveNameCount[] {
  const other = byName.get(OTHER_NAME)?.[w] ?? 0;
  return names
    .map((name): LiveNameCount => {
      const own = byName.get(name);
      if (own === undefined) {
        return other > 0 ? { name, events: null, in_other: true } : { name, events: 0 };
      }
      return own.partial && other > 0
        ? { name, events: own[w], in_other: true }
        : { name, events: own[w] };
    })
    .sort((a, b) => (b.events ?? -1) - (a.events ?? -1) || (a.name < b.name ? -1 : 1));
}

/** A snapshot message from rendered content. */
export function snapshotMessage(atMs: number, content: string): string {
  return `{"type":"snapshot","at":${atMs},${content.slice(1)}`;
}

export function heartbeatMessage(atMs: number): string {
  return `{"type":"heartbeat","at":${atMs}}`;
}

export function errorMessage(code: string, detail: string): string {
  return JSON.stringify({ type: 'error', code, detail });
}

const BINARY_FRAME_DETAIL = 'a message must be a JSON text frame, not a binary one';

/**
 * Reads one client message: text (JSON) or the value the framework already parsed from it.
 * Names are de-duplicated and sorted, so equal filters share one topic.
 */
export function parseClientMessage(
  raw: unknown,
  limits: Pick<LiveLimits, 'subscribeNamesMax' | 'clientMessageBytesMax'>,
): ClientRequest {
  // A binary frame (a Buffer) is not read: as a JSON value it would be {"type":"Buffer",…},
  // refused as too large at a quarter of the limit, or as no subscribe though it held one.
  if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) {
    return { kind: 'invalid', code: 'bad_request', detail: BINARY_FRAME_DETAIL };
  }
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw ?? null);
  if (Buffer.byteLength(text) > limits.clientMessageBytesMax) {
    const detail = `a message may have at most ${limits.clientMessageBytesMax} bytes`;
    return { kind: 'invalid', code: 'payload_too_large', detail };
  }
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { kind: 'invalid', code: 'bad_request', detail: 'a message must be JSON' };
    }
  }
  if (!Value.Check(LiveClientMessage, value)) {
    return { kind: 'invalid', code: 'bad_request', detail: describeProblem(value) };
  }
  if (value.type === 'unsubscribe') return { kind: 'unsubscribe' };
  if (value.names === undefined) return { kind: 'subscribe', names: null };
  const names = [...new Set(value.names)].sort();
  if (names.length > limits.subscribeNamesMax) {
    const detail = `names may list at most ${limits.subscribeNamesMax} event names`;
    return { kind: 'invalid', code: 'bad_request', detail };
  }
  return { kind: 'subscribe', names };
}

function describeProblem(value: unknown): string {
  const type = (value as { type?: unknown } | null)?.type;
  if (type !== 'subscribe' && type !== 'unsubscribe') {
    return 'expected {"type":"subscribe","names":[…]?} or {"type":"unsubscribe"}';
  }
  const schema = type === 'subscribe' ? LiveSubscribeMessage : LiveClientMessage;
  const first = Value.Errors(schema, value).First();
  return first === undefined ? 'invalid message' : `${first.path || '/'}: ${first.message}`;
}
