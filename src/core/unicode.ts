// Well-formed text for storage. JSON may carry lone UTF-16 surrogates (`"\ud800"`), which JS
// strings hold but UTF-8 cannot: DuckDB refuses the JSON line that escapes one, so one such
// event would make every read and flush of the log fail. Ingest stores U+FFFD in their place,
// as a UTF-8 encoder does (a string cut in the middle of an emoji is the usual source), and
// text is cut to a limit only where a whole character ends.

/** The first half of a surrogate pair (a lone one, if nothing follows it). */
const HIGH_SURROGATE_MIN = 0xd800;
const HIGH_SURROGATE_MAX = 0xdbff;

/**
 * Whether `json` (JSON.stringify output) may hold an escaped lone surrogate: JSON.stringify
 * writes paired surrogates as the characters themselves and escapes only lone ones, always
 * in lowercase hex (`\ud800`). One scan; a false positive only costs a closer look.
 */
export function mayHoldLoneSurrogate(json: string): boolean {
  return json.includes('\\ud');
}

/**
 * `text` cut to at most `charsMax` UTF-16 units (the unit string lengths and limits count),
 * never between the two halves of a surrogate pair: half of an emoji is a lone surrogate.
 */
export function cutToChars(text: string, charsMax: number): string {
  if (text.length <= charsMax) return text;
  const last = text.charCodeAt(charsMax - 1);
  const splitsPair = last >= HIGH_SURROGATE_MIN && last <= HIGH_SURROGATE_MAX;
  return text.slice(0, splitsPair ? charsMax - 1 : charsMax);
}

/** `value` with every lone surrogate, in strings and object keys at any depth, as U+FFFD. */
export function wellFormed<T>(value: T): T {
  return repair(value) as T;
}

function repair(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) return value.map(repair);
  if (value === null || typeof value !== 'object') return value;
  // Keys are defined, not assigned: a "__proto__" property is kept as one (assigning it would
  // set the copy's prototype, and the property would vanish from the stored event).
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [repair(key) as string, repair(inner)]),
  );
}

/**
 * The path (keys and indexes from `value`) of the first object in `value` two of whose keys
 * `wellFormed` makes one (`"\ud800"` and `"\ud801"` both become `"\ufffd"`, as does a key sent
 * as `"\ufffd"`): stored, one of their values would be lost without a word. Null when none.
 */
export function keysMergedByRepair(value: unknown): (string | number)[] | null {
  const pending: [unknown, (string | number)[]][] = [[value, []]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, path] = next;
    if (typeof node !== 'object' || node === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : Object.entries(node);
    if (!Array.isArray(node) && !entries.every(([key]) => (key as string).isWellFormed())) {
      const keys = new Set(entries.map(([key]) => (key as string).toWellFormed()));
      if (keys.size < entries.length) return path;
    }
    for (const [key, inner] of entries) {
      if (typeof inner === 'object' && inner !== null) pending.push([inner, [...path, key]]);
    }
  }
  return null;
}
