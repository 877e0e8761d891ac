// DuckDB values as JSON-safe values: integers as numbers while exact (else decimal strings),
// instants as UTC ISO 8601, JSON columns parsed, nested types recursed. Everything else as
// the driver's own JSON conversion (dates as YYYY-MM-DD, intervals as objects).

import {
  DuckDBArrayType,
  DuckDBListType,
  DuckDBMapType,
  type DuckDBResultReader,
  DuckDBStructType,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBUnionType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
  JsonDuckDBValueConverter,
} from '@duckdb/node-api';

const EXACT_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.BIGNUM,
  DuckDBTypeId.DECIMAL,
]);

/** Converts one value of `type`; nested values recurse through `self`. */
export const jsonSafeConverter: DuckDBValueConverter<Json> = (value, type, self) => {
  if (value === null || value === undefined) return null;
  if (EXACT_TYPES.has(type.typeId)) return exactNumber(String(value));
  const micros = microsOf(value);
  if (micros !== null) return isoOfMicros(micros, type.typeId === DuckDBTypeId.TIMESTAMP_TZ);
  if (type.typeId === DuckDBTypeId.VARCHAR && type.alias === 'JSON') return parseJson(value);
  return JsonDuckDBValueConverter(value, type, self);
};

/**
 * Every row read so far as JSON-safe arrays. Converts with the result's column types, which
 * keep aliases such as JSON (the types of the underlying vectors do not).
 */
export function jsonRows(reader: DuckDBResultReader): (Json | null)[][] {
  const types = reader.columnTypes();
  return reader
    .getRows()
    .map((row) =>
      row.map((value, i) => jsonSafeConverter(value, types[i] as DuckDBType, jsonSafeConverter)),
    );
}

/**
 * The first column whose type holds a STRUCT with unnamed or repeated field names
 * (`ROW(1, 2)`), which rows cannot carry as JSON objects without losing fields; else null.
 */
export function columnWithUnnamedFields(names: string[], types: DuckDBType[]): string | null {
  const index = types.findIndex(hasUnnamedFields);
  return index === -1 ? null : (names[index] ?? String(index));
}

function hasUnnamedFields(type: DuckDBType): boolean {
  if (type instanceof DuckDBStructType) {
    const names = type.entryNames;
    if (names.includes('') || new Set(names).size < names.length) return true;
    return type.entryTypes.some(hasUnnamedFields);
  }
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    return hasUnnamedFields(type.valueType);
  }
  if (type instanceof DuckDBMapType) {
    return hasUnnamedFields(type.keyType) || hasUnnamedFields(type.valueType);
  }
  if (type instanceof DuckDBUnionType) return type.memberTypes.some(hasUnnamedFields);
  return false;
}

/** The SQL name of a column type, aliases (JSON) included. */
export function typeName(type: DuckDBType): string {
  return type.alias ?? type.toString();
}

/** A number when `text` converts to one exactly, else the text itself. */
function exactNumber(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  const canonical = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return String(n) === canonical.replace(/^(-?)0+(\d)/, '$1$2') ? n : text;
}

function microsOf(value: DuckDBValue): bigint | null {
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return value.micros;
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.millis * 1000n;
  if (value instanceof DuckDBTimestampSecondsValue) return value.seconds * 1_000_000n;
  if (value instanceof DuckDBTimestampNanosecondsValue) return value.nanos / 1000n;
  return null;
}

const DATE_MS_MAX = 8_640_000_000_000_000n;

/** `2026-03-08T05:00:00.000Z` (micro digits kept when present); a naive timestamp has no Z. */
function isoOfMicros(micros: bigint, zoned: boolean): string {
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  if (ms > DATE_MS_MAX || ms < -DATE_MS_MAX) return micros > 0n ? 'infinity' : '-infinity';
  const rest = Number(micros - ms * 1000n);
  const iso = new Date(Number(ms)).toISOString().slice(0, -1);
  const withMicros = rest === 0 ? iso : `${iso}${String(rest).padStart(3, '0')}`;
  return zoned ? `${withMicros}Z` : withMicros;
}

function parseJson(value: DuckDBValue): Json {
  const text = String(value);
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}
