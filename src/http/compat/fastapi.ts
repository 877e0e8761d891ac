// What the FastAPI + Pydantic services of the seeds do with a body and a datetime, so their
// clients see the same answers from Tally: malformed JSON is FastAPI's 422, and a datetime is
// read as Pydantic reads one.

import { isUtf8 } from 'node:buffer';
import { AppError, type FieldIssue, parseAsUtc } from '../../core/index.ts';
import {
  ANY_MEDIA_TYPE,
  type BodyFormat,
  bomBytes,
  FASTAPI_JSON_TYPES,
  type JsonReviver,
  parseJson,
  readBody,
} from '../body.ts';
import { pythonJsonError } from './python-json.ts';

/** FastAPI's issue type for a body that is not JSON: Pydantic v2's, or v1's (seed 000). */
export type JsonErrorType = 'json_invalid' | 'value_error.jsondecode';

/**
 * The parsed body; malformed JSON is FastAPI's 422 (a `detail` list), not a 400. An empty body
 * is no body to FastAPI (it parses only a non-empty one), so its model is a required body that
 * is missing: `field required` at `["body"]` (Pydantic v2: `Field required`, type `missing`).
 */
function parseFastApiBody(
  bytes: Buffer,
  type: JsonErrorType = 'json_invalid',
  reviver?: JsonReviver,
): unknown {
  if (bytes.length === 0) {
    const v1 = type === 'value_error.jsondecode';
    throw AppError.validation([
      v1
        ? { loc: ['body'], msg: 'field required', type: 'value_error.missing' }
        : { loc: ['body'], msg: 'Field required', type: 'missing', input: null },
    ]);
  }
  try {
    return parseJson(bytes, reviver);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'invalid_json') throw error;
    // Where Python's json stops, as FastAPI reports it: ["body", pos], and Pydantic v1's
    // message with its line and column, or v2's fixed one with the reason in ctx.error.
    const doc = isUtf8(bytes) ? bytes.toString('utf8', bomBytes(bytes)) : null;
    const found = doc === null ? null : pythonJsonError(doc);
    if (found !== null) {
      const loc = ['body', found.pos];
      // v1's ctx is the JSONDecodeError's attributes (pydantic's error_dict: exc.__dict__).
      const { msg, pos, lineno, colno } = found;
      throw AppError.validation([
        type === 'value_error.jsondecode'
          ? { loc, msg: found.text, type, ctx: { msg, doc, pos, lineno, colno } }
          : { loc, msg: 'JSON decode error', type, ctx: { error: msg }, input: {} },
      ]);
    }
    // What Python reads but Tally does not (NaN, nesting past its depth, text not UTF-8).
    const v2 = type === 'json_invalid' ? { input: {} } : {};
    throw AppError.validation([
      { loc: ['body'], msg: `JSON decode error: ${error.message}`, type, ...v2 },
    ]);
  }
}

/** Where a seed route's values are, for the `input` of each issue of its 422. */
export interface IssueSources {
  body?: unknown;
  query?: Record<string, unknown>;
  path?: Record<string, unknown>;
}

/**
 * `error` with each issue's `input`, as FastAPI on Pydantic v2 shows it: the value at its loc;
 * for a body field not sent, the object that lacks it; a parameter not sent, null. Issues that
 * name theirs keep it; any other error passes unchanged.
 */
export function withInputs(error: unknown, sources: IssueSources): unknown {
  if (!(error instanceof AppError) || error.issues === undefined) return error;
  if (error.issues.every((issue) => 'input' in issue)) return error;
  return AppError.validation(
    error.issues.map((issue) =>
      'input' in issue ? issue : { ...issue, input: inputOf(issue, sources) },
    ),
  );
}

function inputOf(issue: FieldIssue, sources: IssueSources): unknown {
  const [where, ...path] = issue.loc;
  const root = where === 'body' ? sources.body : where === 'query' ? sources.query : sources.path;
  if (where !== 'body' && issue.type === 'missing') return null;
  // A field not sent: Pydantic's input is the object it is missing from.
  const keys = issue.type === 'missing' ? path.slice(0, -1) : path;
  let at: unknown = root;
  for (const key of keys) {
    at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
  }
  return at ?? null;
}

/** FastAPI's reading of a body by its media type: JSON (FASTAPI_JSON_TYPES), else bytes. */
const FASTAPI_BODY_TYPES: Record<string, BodyFormat | 'bytes'> = {
  ...FASTAPI_JSON_TYPES,
  [ANY_MEDIA_TYPE]: 'bytes',
};

/**
 * A seed route's body (at most `bytesMax`) as FastAPI hands it to the route's model
 * (fastapi/routing.py): parsed when its media type is JSON (or absent), else its bytes, here
 * as text, which the model refuses as it refuses any body that is no object: a 422 at
 * ["body"], never a 415 (a form or other body to a JSON model is Pydantic's type error). An
 * empty body is a missing one whatever its type (parseFastApiBody).
 */
export async function readFastApiBody(
  request: Request,
  bytesMax: number,
  options: {
    type?: JsonErrorType;
    reviver?: JsonReviver;
    /** The body is one event: measured without a byte order mark or a final line end. */
    oneEvent?: true;
  } = {},
): Promise<unknown> {
  const { type = 'json_invalid', reviver, oneEvent } = options;
  // FastAPI never reads a charset (Starlette hands the bytes to json.loads): none is refused.
  const read = { anyCharset: true, ...(oneEvent === true ? { oneEvent } : {}) } as const;
  const body = await readBody(request, FASTAPI_BODY_TYPES, bytesMax, read);
  if (body.format !== 'bytes' || body.bytes.length === 0) {
    return parseFastApiBody(body.bytes, type, reviver);
  }
  return body.bytes.toString('utf8');
}

/**
 * Above this magnitude Pydantic takes a number as epoch milliseconds, at or below it as seconds
 * (pydantic-core's `datetime` from a number).
 */
const EPOCH_SECONDS_MAX = 2e10;

/** A number written as text, which Pydantic also reads as Unix time. */
const NUMBER = /^-?\d+(\.\d+)?$/;

/** Whether Pydantic reads `value` (a `datetime` field's) as Unix time: a number or its text. */
export function isUnixTime(value: unknown): value is number | string {
  return typeof value === 'number' || (typeof value === 'string' && NUMBER.test(value.trim()));
}

/**
 * A Pydantic `datetime` as epoch ms for the unified event, else the value unchanged (the event
 * rules then name what is wrong with it): ISO 8601 with a zone, without one (UTC, as the seeds'
 * servers run), a bare date (its UTC midnight), or a number (or its text) of epoch seconds or
 * milliseconds.
 */
export function pydanticDateTime(value: unknown): unknown {
  if (typeof value === 'string' && isUnixTime(value)) return pydanticDateTime(Number(value));
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Math.round(Math.abs(value) > EPOCH_SECONDS_MAX ? value : value * 1000);
  }
  if (typeof value !== 'string') return value;
  const parsed = parseAsUtc(value);
  return parsed.ok ? parsed.ms : value;
}

/**
 * A float as the services' JSON writes one (Python's repr): always with a `.0` or a fraction
 * (`25.0`, where JavaScript writes `25`), and in exponent form below 1e-4 or from 1e16 on,
 * with a signed exponent of at least two digits (`1e-05`, `1.5e+16`). The digits are the
 * shortest that read back the same number in both languages.
 */
export function pythonFloat(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (Object.is(value, -0)) return '-0.0';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/**
 * Where a parse with `reviver` keeps the source text of each number it reads, by the object
 * (or array) that holds it and its key: Python reads `1.0` as a float and an integer of any
 * length exactly, so a service's `str(value)` is known only from the text as sent.
 */
export function numberSources(): {
  reviver: JsonReviver;
  sourceOf: (holder: object, key: string) => string | undefined;
} {
  const sources = new WeakMap<object, Map<string, string>>();
  return {
    reviver(key, value, context) {
      const source = context?.source;
      if (typeof value === 'number' && source !== undefined && typeof this === 'object') {
        const holder = this as object;
        const map = sources.get(holder) ?? new Map<string, string>();
        sources.set(holder, map.set(key, source));
      }
      return value;
    },
    sourceOf: (holder, key) => sources.get(holder)?.get(key),
  };
}

/** str() of the number Python's json reads from `source` (JSON number text): int or float. */
export function pythonNumberText(value: number, source: string | undefined): string {
  if (source !== undefined && /^-?\d+$/.test(source)) return BigInt(source).toString();
  if (source === undefined && Number.isInteger(value) && Math.abs(value) < 2 ** 53) {
    return String(value);
  }
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return pythonFloat(value);
}
