// The columns of a stored event in DuckDB and Parquet: one list shared by the in-memory hot
// table, the segment files and every query, so they can be UNIONed by position. A column is
// only ever added, and segment files written before it are read with NULL in its place (see
// segment-format.ts).

export const EVENT_COLUMNS = [
  ['event_id', 'VARCHAR'],
  ['tenant', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['timestamp', 'TIMESTAMPTZ'],
  ['received_at', 'TIMESTAMPTZ'],
  ['user_id', 'VARCHAR'],
  ['anonymous_id', 'VARCHAR'],
  ['session_id', 'VARCHAR'],
  ['source', 'VARCHAR'],
  ['path', 'VARCHAR'],
  ['referrer', 'VARCHAR'],
  ['url', 'VARCHAR'],
  ['user_agent', 'VARCHAR'],
  ['ip', 'VARCHAR'],
  ['duration', 'DOUBLE'],
  ['value', 'DOUBLE'],
  ['properties', 'JSON'],
  ['os', 'VARCHAR'],
  ['browser', 'VARCHAR'],
  ['device', 'VARCHAR'],
  ['is_bot', 'BOOLEAN'],
  ['visitor_id', 'VARCHAR'],
  ['country', 'VARCHAR'],
  ['seq', 'BIGINT'],
] as const;

export type EventColumn = (typeof EVENT_COLUMNS)[number][0];

/** `"event_id", "tenant", …` in table order, quoted for SQL. */
export const EVENT_COLUMN_LIST = EVENT_COLUMNS.map(([name]) => `"${name}"`).join(', ');

/** `"event_id" VARCHAR, …` for CREATE TABLE. */
export const EVENT_COLUMN_DEFS = EVENT_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(
  ', ',
);
