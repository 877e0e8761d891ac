// DuckDB values as JSON-safe values: integers as numbers while exact (else decimal strings),
// instants as UTC ISO 8601, JSON columns parsed, nested types recursed. Everything else as
// the driver's own JSON conversion (dates as YYYY-MM-DD, intervals as objects).

import {
  DuckDBArrayType,
  DuckDBDateValue,
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
import { isoOfDays, isoOfTicks } from './iso-instants.ts';

const EXACT_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.BIGNUM,
  DuckDBTypeId.DECIMAL,
]);

/** Converts one value of `type`; nested values recurse through `self`. */
const jsonSafeConverter: DuckDBValueConverter<Json> = (value, type, self) => {
  if (value === null || value === undefined) return null;
  if (EXACT_TYPES.has(type.typeId)) return exactNumber(String(value));
  const ticks = ticksOf(value);
  if (ticks !== null) {
    return isoOfTicks(ticks.ticks, ticks.perSecond, type.typeId === DuckDBTypeId.TIMESTAMP_TZ);
  }
  if (value instanceof DuckDBDateValue) return isoOfDays(value.days);
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
 * One row's values as JSON-safe values, converted with `types`: the result's column types,
 * which keep aliases such as JSON (a chunk's vectors do not).
 */
export function jsonRow(values: readonly DuckDBValue[], types: readonly DuckDBType[]): Json[] {
  return values.map((value, i) =>
    jsonSafeConverter(value, types[i] as DuckDBType, jsonSafeConverter),
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

/**
 * The name a STRUCT field or a UNION member cannot have in an answer: the driver reads a STRUCT
 * into a plain object (`entries[name] = value`), where `__proto__` sets the object's prototype
 * instead of a field, and looks a UNION member's type up by its name in one.
 */
const UNCARRIED_NAME = '__proto__';

/**
 * The first column whose type holds a STRUCT field or a UNION member named `__proto__`, which
 * the driver's values lose (the field is missing from the object, or the read fails); else null.
 */
export function columnWithProtoName(names: string[], types: DuckDBType[]): string | null {
  const index = types.findIndex(hasProtoName);
  return index === -1 ? null : (names[index] ?? String(index));
}

function hasProtoName(type: DuckDBType): boolean {
  if (type instanceof DuckDBStructType) {
    return type.entryNames.includes(UNCARRIED_NAME) || type.entryTypes.some(hasProtoName);
  }
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    return hasProtoName(type.valueType);
  }
  if (type instanceof DuckDBMapType)
    return hasProtoName(type.keyType) || hasProtoName(type.valueType);
  if (type instanceof DuckDBUnionType) {
    return type.memberTags.includes(UNCARRIED_NAME) || type.memberTypes.some(hasProtoName);
  }
  return false;
}

/**
 * The first column whose type holds a VARIANT, whose values the driver reads into plain objects
 * without their types: a field named `__proto__` is lost (`{"b":2}` for {'__proto__': 1,
 * 'b': 2}), or fails the read with a 500 when it holds a list or struct; else null. No check of
 * the column's type can tell (a VARIANT's field names are in its values), so every such column
 * is refused, asking for a cast to JSON, which carries every value and name.
 */
export function columnWithVariant(names: string[], types: DuckDBType[]): string | null {
  const index = types.findIndex(hasVariant);
  return index === -1 ? null : (names[index] ?? String(index));
}

function hasVariant(type: DuckDBType): boolean {
  if (type.typeId === DuckDBTypeId.VARIANT) return true;
  if (type instanceof DuckDBStructType) return type.entryTypes.some(hasVariant);
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    return hasVariant(type.valueType);
  }
  if (type instanceof DuckDBMapType) return hasVariant(type.keyType) || hasVariant(type.valueType);
  if (type instanceof DuckDBUnionType) return type.memberTypes.some(hasVariant);
  return false;
}

/**
 * The SQL name of a column type, aliases (JSON) included at every level, as DuckDB's typeof
 * names it: `JSON[]`, `STRUCT("p" JSON)`. (The driver names a nested type by its children's
 * base types: a list of JSON, whose values are parsed, was named `VARCHAR[]`.)
 */
export function typeName(type: DuckDBType): string {
  if (type.alias !== undefined) return type.alias;
  if (type instanceof DuckDBListType) return `${typeName(type.valueType)}[]`;
  if (type instanceof DuckDBArrayType) return `${typeName(type.valueType)}[${type.length}]`;
  if (type instanceof DuckDBMapType) {
    return `MAP(${typeName(type.keyType)}, ${typeName(type.valueType)})`;
  }
  if (type instanceof DuckDBStructType) {
    return `STRUCT(${fieldsOf(type.entryNames, type.entryTypes)})`;
  }
  if (type instanceof DuckDBUnionType) {
    return `UNION(${fieldsOf(type.memberTags, type.memberTypes)})`;
  }
  return type.toString();
}

/** `"name" TYPE, …`, as the driver writes the fields of a STRUCT or the members of a UNION. */
function fieldsOf(names: readonly string[], types: readonly DuckDBType[]): string {
  return names
    .map((name, i) => `"${name.replaceAll('"', '""')}" ${typeName(types[i] as DuckDBType)}`)
    .join(', ');
}

/**
 * A number when `text` converts to one exactly, else the text itself: exactly when the number,
 * as JSON writes it, is the same decimal as `text` (0.000000100 is 1e-7; 0.1 is 0.1).
 */
function exactNumber(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  return decimalOf(String(n)) === decimalOf(text) ? n : text;
}

/**
 * A decimal number's text (`-0.0120`, `1.2e-8`) as its sign, significant digits and exponent
 * (`-12e-3`), so that two spellings of one value compare equal. Compared as written, a DECIMAL
 * below 1e-6 was answered as a string (JavaScript writes 1e-7 where DuckDB writes 0.000000100),
 * beside numbers for the column's other values.
 */
function decimalOf(text: string): string {
  const [, sign = '', whole = '', fraction = '', exponent = '0'] =
    /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text) ?? [];
  const all = `${whole}${fraction}`.replace(/^0+/, '');
  const digits = all.replace(/0+$/, '');
  if (digits === '') return '0';
  const scale = Number(exponent) - fraction.length + (all.length - digits.length);
  return `${sign}${digits}e${scale}`;
}

/** A timestamp value's ticks and how many make a second; null for other values. */
function ticksOf(value: DuckDBValue): { ticks: bigint; perSecond: bigint } | null {
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return { ticks: value.micros, perSecond: 1_000_000n };
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) {
    return { ticks: value.millis, perSecond: 1000n };
  }
  if (value instanceof DuckDBTimestampSecondsValue) return { ticks: value.seconds, perSecond: 1n };
  if (value instanceof DuckDBTimestampNanosecondsValue) {
    return { ticks: value.nanos, perSecond: 1_000_000_000n };
  }
  return null;
}

function parseJson(value: DuckDBValue): Json {
  const text = String(value);
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}
