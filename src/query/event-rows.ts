// Events as rows and back: the select list every event read uses, and the presented event
// (UTC ISO times, properties as an object, derived fields included, `seq` left out).

import { presentEvent, type StoredEvent } from '../core/index.ts';
import { numberOf, type Row } from './read.ts';

/** The stored fields of a presented event, as SQL over the event alias `e` (times epoch ms). */
const EVENT_FIELDS: readonly (readonly [string, string])[] = [
  ['event_id', 'e.event_id'],
  ['tenant', 'e.tenant'],
  ['name', 'e.name'],
  ['timestamp', 'epoch_ms(e."timestamp")'],
  ['received_at', 'epoch_ms(e.received_at)'],
  ['user_id', 'e.user_id'],
  ['anonymous_id', 'e.anonymous_id'],
  ['session_id', 'e.session_id'],
  ['source', 'e.source'],
  ['path', 'e.path'],
  ['referrer', 'e.referrer'],
  ['url', 'e.url'],
  ['user_agent', 'e.user_agent'],
  ['ip', 'e.ip'],
  ['duration', 'e.duration'],
  ['value', 'e.value'],
  // As its text: parsed here as every JSON column is (DuckDB's JSON writer would rewrite it).
  ['properties', 'CAST(e.properties AS VARCHAR)'],
  ['os', 'e.os'],
  ['browser', 'e.browser'],
  ['device', 'e.device'],
  ['is_bot', 'e.is_bot'],
  ['visitor_id', 'e.visitor_id'],
  ['country', 'e.country'],
];

/** The fields as the entries of a DuckDB struct: `'event_id': e.event_id, …`. */
const EVENT_STRUCT = EVENT_FIELDS.map(([name, sql]) => `'${name}': ${sql}`).join(', ');

/** An event's fields as one JSON text (DuckDB writes it): `event` of EVENT_SELECT. */
export const EVENT_JSON = `to_json({${EVENT_STRUCT}})::VARCHAR`;

/**
 * The select list of every event read: `event`, the event's fields as one JSON text (DuckDB
 * writes it; the driver then converts one value a row instead of 23, the most of an export's
 * time), its `event_id`, and `cursor_us`, its time in exact microseconds for a page's cursor.
 */
export const EVENT_SELECT = [
  `${EVENT_JSON} AS event`,
  'e.event_id',
  'epoch_us(e."timestamp") AS cursor_us',
].join(', ');

export function storedEventOf(selected: Row): StoredEvent {
  return storedEventOfJson(String(selected.event));
}

/** The stored event of its `event` JSON text (EVENT_SELECT). */
export function storedEventOfJson(json: string): StoredEvent {
  const row = JSON.parse(json) as Row;
  const text = (key: string) => (row[key] === null ? null : String(row[key]));
  const number = (key: string) => (row[key] === null ? null : numberOf(row[key]));
  return {
    event_id: String(row.event_id),
    tenant: String(row.tenant),
    name: String(row.name),
    timestamp: numberOf(row.timestamp),
    received_at: numberOf(row.received_at),
    user_id: text('user_id'),
    anonymous_id: text('anonymous_id'),
    session_id: text('session_id'),
    source: text('source'),
    path: text('path'),
    referrer: text('referrer'),
    url: text('url'),
    user_agent: text('user_agent'),
    ip: text('ip'),
    duration: number('duration'),
    value: number('value'),
    properties: propertiesOf(row.properties),
    os: String(row.os ?? ''),
    browser: String(row.browser ?? ''),
    device: String(row.device ?? ''),
    is_bot: row.is_bot === true,
    visitor_id: String(row.visitor_id ?? ''),
    country: text('country'),
  };
}

/** The event as the API returns it. */
export function presentEventRow(row: Row): Record<string, unknown> {
  return presentEvent(storedEventOf(row));
}

/** A metric point (an event with a value) as the API returns it: its properties are its tags. */
export function presentMetricRow(row: Row): Record<string, unknown> {
  const event = storedEventOf(row);
  return {
    id: event.event_id,
    name: event.name,
    value: event.value,
    timestamp: new Date(event.timestamp).toISOString(),
    received_at: new Date(event.received_at).toISOString(),
    tags: event.properties ?? {},
    source: event.source,
  };
}

function propertiesOf(value: Row[string] | undefined): StoredEvent['properties'] {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (parsed === null || parsed === undefined) return null;
  return typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as StoredEvent['properties'])
    : null;
}
