// The text of exported events: CSV fields quoted by RFC 4180 (and `""` for an empty string, so it
// differs from an absent value), the header in export order (every presented field of an
// event), NDJSON lines, and the name of the attachment.

import { describe, expect, test } from 'bun:test';
import { CSV_HEADER, csvField, csvOf, ndjsonOf } from '../../src/http/export-format.ts';
import { exportFileName } from '../../src/http/routes/export.ts';
import { presentEventRow } from '../../src/query/event-rows.ts';
import { EXPORT_COLUMNS } from '../../src/query/index.ts';
import type { Row } from '../../src/query/read.ts';
import { T0 } from '../helpers/app.ts';
import { parseCsv } from '../helpers/csv.ts';
import { makeEvent } from '../helpers/memory-source.ts';

describe('CSV fields', () => {
  test('plain text as it is; a comma, quote, CR or LF quoted, quotes doubled', () => {
    expect(csvField('page_view')).toBe('page_view');
    expect(csvField('a b')).toBe('a b');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('one\ntwo')).toBe('"one\ntwo"');
    expect(csvField('one\r\ntwo')).toBe('"one\r\ntwo"');
    expect(csvField('ünï ☃ 𝄞')).toBe('ünï ☃ 𝄞');
  });

  test('absent is an empty field, an empty string `""`; formulas are left as they are', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField('=SUM(A1:A9)')).toBe('=SUM(A1:A9)');
    expect(csvField('+1')).toBe('+1');
  });

  test('numbers and booleans as JSON writes them, objects as their JSON text', () => {
    expect(csvField(0.25)).toBe('0.25');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(false)).toBe('false');
    expect(csvField({ a: [1, 'x,y'] })).toBe('"{""a"":[1,""x,y""]}"');
  });
});

describe('exported events as text', () => {
  // As every read presents a stored row (GET /api/v1/events/{id}, the export's pages): its
  // fields as one JSON text, properties as their stored text (event-rows.ts).
  const stored = makeEvent({ event_id: 'e,1', timestamp: T0, user_id: 'line\nbreak', source: '' });
  const event = presentEventRow({
    event: JSON.stringify({ ...stored, properties: JSON.stringify({ q: 'a "b"' }) }),
    event_id: stored.event_id,
  } as Row);

  test('the header names every field an event is presented with, in that order', () => {
    expect(Object.keys(event)).toEqual([...EXPORT_COLUMNS]);
    expect(CSV_HEADER).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
  });

  test('a CSV record per event, read back field by field', () => {
    const [header, record] = parseCsv(CSV_HEADER + csvOf([event]));
    expect(header?.map((f) => f.text)).toEqual([...EXPORT_COLUMNS]);
    const fields = Object.fromEntries(
      EXPORT_COLUMNS.map((c, i) => [c, record?.[i] ?? { text: '?', quoted: false }]),
    );
    expect(fields.event_id).toEqual({ text: 'e,1', quoted: true });
    expect(fields.user_id).toEqual({ text: 'line\nbreak', quoted: true });
    expect(fields.source).toEqual({ text: '', quoted: true });
    expect(fields.session_id).toEqual({ text: '', quoted: false });
    expect(fields.timestamp?.text).toBe('2026-11-25T12:00:00.000Z');
    expect(JSON.parse(fields.properties?.text ?? '')).toEqual({ q: 'a "b"' });
    expect(fields.is_bot?.text).toBe('false');
  });

  test('an NDJSON line per event, ended by LF', () => {
    const text = ndjsonOf([event, event]);
    expect(text.endsWith('\n')).toBe(true);
    expect(
      text
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l)),
    ).toEqual([event, event]);
    expect(ndjsonOf([])).toBe('');
  });
});

describe('the attachment name', () => {
  test('tally-<tenant>-<UTC time>.<format>, with only safe characters', () => {
    expect(exportFileName('acme', T0, 'csv')).toBe('tally-acme-20261125T120000Z.csv');
    expect(exportFileName('acme:eu.1', T0 + 1234, 'parquet')).toBe(
      'tally-acme_eu.1-20261125T120001Z.parquet',
    );
    const long = exportFileName(`${'x'.repeat(200)}"/\\`, T0, 'ndjson');
    expect(long).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(long).toBe(`tally-${'x'.repeat(64)}-20261125T120000Z.ndjson`);
  });
});
