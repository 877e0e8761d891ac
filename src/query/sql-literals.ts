// SQL literals of the query layer's own constants (source names, tags, channel words): quoted
// strings and MAP look-up tables. Never for a value from a request: those are bound as
// parameters (sql-params.ts).

import { sqlStringBody } from '../storage/index.ts';

/** A constant as a SQL string literal, quotes included (storage's `sqlStringBody` between `'`s). */
export function sqlString(text: string): string {
  return `'${sqlStringBody(text)}'`;
}

/**
 * A DuckDB MAP literal of constant strings; `map[key]` is the value or NULL. One look-up in a
 * MAP is planned in microseconds, where a CASE of IN lists over the same table costs DuckDB
 * milliseconds to plan in every statement that holds it.
 */
export function sqlMap(entries: ReadonlyMap<string, string>): string {
  const pairs = [...entries].map(([key, value]) => `${sqlString(key)}: ${sqlString(value)}`);
  return `MAP {${pairs.join(', ')}}`;
}
