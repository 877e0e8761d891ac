// The distinct_id of a PostHog event sent as no string (a JSON number, mostly), read as
// PostHog's capture reads it. Its capture (serde_json, without `arbitrary_precision`) keeps an
// integer of up to 64 bits exact (u64, or i64 when negative) and makes the id its decimal text
// (extract_distinct_id), so 12345678901234567890 is that person's id to PostHog; JSON.parse
// rounds it past 2^53 to 12345678901234567000, which would merge everyone whose ids round
// alike. Other numbers are left as JSON.parse reads them: PostHog's ingestion parses
// properties with JSON.parse too, so a property past 2^53 is stored rounded there as here.
// The exact read is a second parse, taken only for a body whose ids the first parse rounded:
// the hot path never pays for it. Any other JSON value is its JSON text (parsedIdText).

import { type JsonReviver, parseJson } from '../body.ts';
import { objectOf, textOf } from './ingest.ts';

/** An id of `holder` at `key` as its text, or undefined (none, or not a string or number). */
export type IdText = (
  holder: Record<string, unknown> | undefined,
  key: string,
) => string | undefined;

/**
 * An id as JSON.parse left it, made text as PostHog's capture makes it (extract_distinct_id):
 * a string as sent, a finite number as its JavaScript text, and any other JSON value (`true`,
 * a list, an object) as serde_json writes it, compact and an object's keys sorted, so that
 * PostHog's person `["a","b"]` is Tally's too, not an event left out for want of an id.
 */
export const parsedIdText: IdText = (holder, key) => {
  const id = holder?.[key];
  if (typeof id === 'boolean' || (typeof id === 'object' && id !== null)) return sortedJson(id);
  return textOf(id);
};

/** `value` as compact JSON, each object's keys in serde_json's order (by their UTF-8 bytes). */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const entries = Object.entries(v as Record<string, unknown>);
    entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return Object.fromEntries(entries);
  });
}

const ID_KEYS = new Set(['distinct_id', '$distinct_id']);

/** Integers serde_json keeps exact: i64's least to u64's greatest. */
const EXACT_MIN = -(2n ** 63n);
const EXACT_MAX = 2n ** 64n - 1n;

/** Whether JSON.parse may have rounded an id `item` names: an integer past 2^53. */
export function hasRoundedId(item: unknown): boolean {
  const event = objectOf(item);
  if (event === undefined) return false;
  const ids = [event.distinct_id, event.$distinct_id, objectOf(event.properties)?.distinct_id];
  return ids.some(
    (id) => typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id),
  );
}

/**
 * `bytes` parsed again, with the digits of each integer id within 64 bits kept as sent: the
 * body, and the IdText that reads an id as PostHog's capture does (else as parsedIdText).
 */
export function parseWithExactIds(bytes: Buffer): { body: unknown; idText: IdText } {
  const digits = new WeakMap<object, Map<string, string>>();
  const reviver: JsonReviver = function (key, value, context) {
    const source = context?.source;
    if (
      ID_KEYS.has(key) &&
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      source !== undefined &&
      /^-?\d+$/.test(source) &&
      BigInt(source) >= EXACT_MIN &&
      BigInt(source) <= EXACT_MAX
    ) {
      const holder = this as object;
      digits.set(holder, (digits.get(holder) ?? new Map()).set(key, source));
    }
    return value;
  };
  const body = parseJson(bytes, reviver);
  return {
    body,
    idText: (holder, key) =>
      (holder === undefined ? undefined : digits.get(holder)?.get(key)) ??
      parsedIdText(holder, key),
  };
}
