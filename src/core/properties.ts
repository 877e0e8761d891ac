// An event's properties: their type, the keys Tally gives a meaning to (the `$posthog` bag, the
// `$tally_cut` marker), and fitting an SDK event's properties into the unified event's limits
// (DESIGN.md §2: 64 keys, 8 KB serialized) instead of refusing the event. The SDK protocols
// answer 200 for what they leave out, which their clients take as delivered, so an event with
// some values cut is worth far more than none. The native API does not fit: its clients read
// its 422s.
//
// The rule, deterministic: whole top-level values are dropped, largest first by the bytes they
// take in the serialized properties (`"key":value`, UTF-8), ties in name order (code units,
// ascending); a value is never cut inside (one too large alone is dropped whole), except the
// `$posthog` bag of PostHog's SDK properties, whose entries are dropped one by one among the
// top-level values. The keys reads use (campaign `utm_*`, the caller's `keep`, the bag as a
// whole) go last. Over 64 keys, top-level keys go until the count fits; then values until the
// bytes fit. One marker property, `$tally_cut`, lists what was cut (bag entries as
// `$posthog.<key>`) in the order cut, and counts within both limits itself.

import { assert } from './assert.ts';
import { eventLimits, propertyFitLimits } from './limits.ts';
import { cutToChars } from './unicode.ts';

export type Properties = Record<string, unknown>;

/**
 * The property that holds a PostHog event's own `$` properties (http/compat/posthog-properties
 * nests them there: posthog-js's 40–60, with a landing page's campaign keys, made 80–100 keys,
 * past the 64-key limit); reads look a `$` key up there when the event has none at the top
 * (query/filters.ts).
 */
export const POSTHOG_PROPERTIES_KEY = '$posthog';

/** The marker property: the names of the properties cut to fit. */
export const CUT_PROPERTIES_KEY = '$tally_cut';

/** Campaign keys (`utm_source`, …), kept as long as possible on every event. */
const CAMPAIGN_PREFIX = 'utm_';

/** How one protocol's events are fitted: the top-level keys it keeps as long as possible. */
export interface PropertyFit {
  keep: ReadonlySet<string>;
}

export interface FittedProperties {
  properties: Properties;
  /** The marker's list (empty when the properties fitted as they were). */
  cut: readonly string[];
}

/** A value that may be dropped: a top-level entry, or an entry of the bag (`inBag`). */
interface Unit {
  key: string;
  inBag: boolean;
  /** As the marker lists it. */
  name: string;
  /** Of `"key":value`, serialized. */
  bytes: number;
}

/** Whether `properties` are within the limits as they are. */
export function propertiesFit(properties: Properties): boolean {
  if (Object.keys(properties).length > eventLimits.propertiesKeysMax) return false;
  return Buffer.byteLength(JSON.stringify(properties)) <= eventLimits.propertiesBytesMax;
}

/**
 * `properties` within the limits: the same object when they are, else a copy with values
 * dropped by the rule of the header and the marker added (a marker the client sent is replaced).
 */
export function fitProperties(properties: Properties, fit: PropertyFit): FittedProperties {
  if (propertiesFit(properties)) return { properties, cut: [] };
  const { propertiesKeysMax, propertiesBytesMax } = eventLimits;
  const state = new FitState(properties);
  const kept = (unit: Unit) =>
    unit.key.startsWith(CAMPAIGN_PREFIX) ||
    unit.key === POSTHOG_PROPERTIES_KEY ||
    fit.keep.has(unit.key);
  const top = (keep: boolean) => state.topUnits().filter((unit) => kept(unit) === keep);
  // Over the key limit: top-level keys, the kept ones last, until they fit with the marker.
  const keysOver = () => state.top.size + 1 > propertiesKeysMax;
  state.dropWhile(keysOver, [...byCutOrder(top(false)), ...byCutOrder(top(true))]);
  // Over the byte limit: top-level values and bag entries alike, then the kept keys.
  const bytesOver = () => state.bytes() > propertiesBytesMax;
  state.dropWhile(bytesOver, byCutOrder([...top(false), ...state.bag.values()]));
  state.dropWhile(bytesOver, byCutOrder(top(true)));
  const fitted = state.properties();
  assert(propertiesFit(fitted), 'fitted properties are within the limits');
  return { properties: fitted, cut: state.marker() };
}

/** `units` in the order they are cut: largest first, ties in name order. */
function byCutOrder(units: Unit[]): Unit[] {
  return units.sort(
    (a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** Bytes of `"key":value` serialized (0 for a value JSON leaves out). */
function entryBytes(key: string, value: unknown): number {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(key)) + 1 + Buffer.byteLength(json);
}

/** Bytes of an object or array of `count` entries taking `sum` bytes together. */
function containerBytes(count: number, sum: number): number {
  return 2 + sum + Math.max(0, count - 1);
}

const BAG_KEY_BYTES = Buffer.byteLength(JSON.stringify(POSTHOG_PROPERTIES_KEY)) + 1;
const MARKER_KEY_BYTES = Buffer.byteLength(JSON.stringify(CUT_PROPERTIES_KEY)) + 1;

/**
 * What is left of the properties being fitted, and their serialized size kept by arithmetic
 * (an object is its entries, the commas between them and its braces), so that dropping
 * thousands of values never serializes thousands of times.
 */
class FitState {
  /** Top-level entries left, in the order sent (the bag's bytes: see topUnits). */
  readonly top = new Map<string, Unit>();
  /** Entries left of the `$posthog` bag, when it is an object. */
  readonly bag = new Map<string, Unit>();
  private readonly bagValue: Properties | null;
  private topBytes = 0;
  private bagBytes = 0;
  private readonly cutNames: string[] = [];
  /** Serialized bytes of the names the marker lists by name, in order. */
  private readonly listedBytes: number[] = [];

  constructor(private readonly source: Properties) {
    // Its own only: one read through the prototype would list entries it does not hold.
    const bag = Object.hasOwn(source, POSTHOG_PROPERTIES_KEY)
      ? source[POSTHOG_PROPERTIES_KEY]
      : undefined;
    this.bagValue = isObject(bag) ? bag : null;
    for (const [key, value] of Object.entries(source)) {
      if (key === CUT_PROPERTIES_KEY || value === undefined) continue;
      const whole = !(key === POSTHOG_PROPERTIES_KEY && this.bagValue !== null);
      const bytes = whole ? entryBytes(key, value) : 0;
      this.top.set(key, { key, inBag: false, name: key, bytes });
      this.topBytes += bytes;
    }
    for (const [key, value] of Object.entries(this.bagValue ?? {})) {
      if (value === undefined) continue;
      const bytes = entryBytes(key, value);
      this.bag.set(key, { key, inBag: true, name: `${POSTHOG_PROPERTIES_KEY}.${key}`, bytes });
      this.bagBytes += bytes;
    }
  }

  /** The top-level entries left, the bag's with the size of what is left in it. */
  topUnits(): Unit[] {
    return [...this.top.values()].map((unit) =>
      unit.key === POSTHOG_PROPERTIES_KEY && this.bagValue !== null
        ? { ...unit, bytes: this.bagEntryBytes() }
        : unit,
    );
  }

  /** Drops `units` in order while `over()` holds. */
  dropWhile(over: () => boolean, units: readonly Unit[]): void {
    for (const unit of units) {
      if (!over()) return;
      this.drop(unit);
    }
  }

  /** Serialized bytes of what is left, with the marker as it would be now. */
  bytes(): number {
    const sum = this.topBytes + this.bagEntryBytes() + this.markerEntryBytes();
    return containerBytes(this.top.size + 1, sum);
  }

  drop(unit: Unit): void {
    if (!(unit.inBag ? this.bag : this.top).delete(unit.key)) return;
    const name = cutToChars(unit.name, propertyFitLimits.cutNameCharsMax);
    this.cutNames.push(name);
    if (this.listedBytes.length < propertyFitLimits.cutNamesListedMax) {
      this.listedBytes.push(Buffer.byteLength(JSON.stringify(name)));
    }
    if (unit.inBag) this.bagBytes -= unit.bytes;
    else if (unit.key === POSTHOG_PROPERTIES_KEY && this.bagValue !== null) this.bag.clear();
    else this.topBytes -= unit.bytes;
  }

  /** The marker's list: every name cut, or the first ones and a count of the rest. */
  marker(): string[] {
    const listed = propertyFitLimits.cutNamesListedMax;
    if (this.cutNames.length <= listed) return [...this.cutNames];
    return [...this.cutNames.slice(0, listed - 1), moreText(this.cutNames.length - listed + 1)];
  }

  /** What is left, in the order sent, with the marker last. */
  properties(): Properties {
    const entries: [string, unknown][] = [];
    for (const key of this.top.keys()) {
      const bag = key === POSTHOG_PROPERTIES_KEY ? this.bagValue : null;
      const left = bag === null ? null : [...this.bag.keys()].map((k) => [k, bag[k]]);
      entries.push([key, left === null ? this.source[key] : Object.fromEntries(left)]);
    }
    entries.push([CUT_PROPERTIES_KEY, this.marker()]);
    // Defined, not assigned: a "__proto__" key stays a key.
    return Object.fromEntries(entries);
  }

  private bagEntryBytes(): number {
    if (this.bagValue === null || !this.top.has(POSTHOG_PROPERTIES_KEY)) return 0;
    return BAG_KEY_BYTES + containerBytes(this.bag.size, this.bagBytes);
  }

  private markerEntryBytes(): number {
    const cut = this.cutNames.length;
    const listed = propertyFitLimits.cutNamesListedMax;
    if (cut <= listed) {
      return MARKER_KEY_BYTES + containerBytes(cut, sumOf(this.listedBytes.slice(0, cut)));
    }
    const more = Buffer.byteLength(JSON.stringify(moreText(cut - listed + 1)));
    return MARKER_KEY_BYTES + containerBytes(listed, sumOf(this.listedBytes.slice(0, -1)) + more);
  }
}

/** The marker's last entry when more names were cut than it lists. */
function moreText(count: number): string {
  return `+${count} more`;
}

function sumOf(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0);
}

function isObject(value: unknown): value is Properties {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
