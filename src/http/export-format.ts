// How exported events are written as text (GET /api/v1/export): NDJSON, one event as
// GET /api/v1/events/{id} answers it per line; or CSV (RFC 4180): a fixed header row of
// EXPORT_COLUMNS, one record per event, CRLF line ends, UTF-8 without a byte order mark.
// A CSV field is quoted when it holds a comma, a quote, CR or LF (quotes doubled), and an empty
// string is quoted too (`""`), so it differs from an absent value (an empty field). Nested
// values (properties) are their JSON text; numbers as JSON writes them; booleans true/false.
// Values are written as stored: nothing is prefixed to defuse spreadsheet formulas (a cell
// starting with =, +, - or @), as that would change the data an export exists to carry.

import { EXPORT_COLUMNS } from '../query/index.ts';

type ExportedEvent = Record<string, unknown>;

/** The NDJSON lines of `events`, each ended by LF. */
export function ndjsonOf(events: readonly ExportedEvent[]): string {
  let text = '';
  for (const event of events) text += `${JSON.stringify(event)}\n`;
  return text;
}

/** The CSV header row: the column names, in export order. */
export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\r\n`;

/** The CSV records of `events`, each ended by CRLF. */
export function csvOf(events: readonly ExportedEvent[]): string {
  let text = '';
  for (const event of events) {
    text += `${EXPORT_COLUMNS.map((column) => csvField(event[column])).join(',')}\r\n`;
  }
  return text;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: empty for null or absent, else the value's text, quoted when it must be. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text !== '' && !NEEDS_QUOTES.test(text)) return text;
  return `"${text.replaceAll('"', '""')}"`;
}
