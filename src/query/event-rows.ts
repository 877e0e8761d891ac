// Events as rows and back: the select list every event read uses, and the presented event
// (UTC ISO times, properties as an object, derived fields included, `seq` left out).

import { presentEvent, type StoredEvent } from '../core/index.ts';
import { numberOf, type Row } from './read.ts';

/** The columns of a presented event, times as epoch ms, plus the page cursor's exact time. */
export const EVENT_SELECT = [
  'e.event_id',
  'e.tenant',
  'e.name',
  'epoch_ms(e."timestamp") AS "timestamp"',
  'epoch_ms(e.received_at) AS received_at',
  'e.user_id',
  'e.anonymous_id',
  'e.session_id',
  'e.source',
  'e.path',
  'e.referrer',
  'e.url',
  'e.user_agent',
  'e.ip',
  'e.duration',
  'e.value',
  'e.properties',
  'e.os',
  'e.browser',
  'e.device',
  'e.is_bot',
  'e.visitor_id',
  'e.country',
  'epoch_us(e."timestamp") AS cursor_us',
].join(', ');

export function storedEventOf(row: Row): StoredEvent {
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
