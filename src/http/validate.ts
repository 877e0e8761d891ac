// Turns TypeBox errors into FastAPI-style field issues whose messages name the field and the
// rule, e.g. {"loc":["body","events",3,"user_id"],"msg":"user_id must be at most 128
// characters","type":"string_too_long"}.

import type { TypeCheck } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import type { TSchema } from 'elysia';
import { AppError, type FieldIssue } from '../core/index.ts';

/** Issues for `value` against `checker`, at most one per field, located under `loc`. */
export function issuesOf<T extends TSchema>(
  checker: TypeCheck<T>,
  value: unknown,
  loc: (string | number)[],
): FieldIssue[] {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  for (const error of checker.Errors(value)) {
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    const fieldPath = locOfPointer(value, error.path);
    issues.push({ loc: [...loc, ...fieldPath], ...describe(error, fieldPath, loc) });
  }
  return issues;
}

/**
 * The loc parts of a JSON pointer into `value`: an array index is a number, an object key a
 * string even when it looks like one (`{"tags":{"5":1}}` is ["tags","5"], as FastAPI says).
 */
function locOfPointer(value: unknown, pointer: string): (string | number)[] {
  let at = value;
  return pointer
    .split('/')
    .slice(1)
    .map((part) => {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
      const inArray = Array.isArray(at);
      at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
      return inArray && /^\d+$/.test(key) ? Number(key) : key;
    });
}

function describe(
  error: ValueError,
  fieldPath: (string | number)[],
  loc: readonly (string | number)[],
): Omit<FieldIssue, 'loc'> {
  const field = fieldNameOf(fieldPath, loc);
  const s = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { msg: `${field} is required`, type: 'missing' };
    case ValueErrorType.String:
      return { msg: `${field} must be a string`, type: 'string_type' };
    case ValueErrorType.StringMaxLength:
      return { msg: `${field} must be at most ${s.maxLength} characters`, type: 'string_too_long' };
    case ValueErrorType.StringMinLength:
      return {
        msg: `${field} must be at least ${s.minLength} character${s.minLength === 1 ? '' : 's'}`,
        type: 'string_too_short',
      };
    case ValueErrorType.StringPattern:
      return { msg: `${field} must match ${s.pattern}`, type: 'string_pattern_mismatch' };
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
      if (isInfinite(error.value)) return notFinite(field);
      return { msg: `${field} must be a number`, type: 'float_type' };
    case ValueErrorType.NumberMinimum:
      return { msg: `${field} must be ≥ ${s.minimum}`, type: 'greater_than_equal' };
    case ValueErrorType.NumberMaximum:
      return { msg: `${field} must be ≤ ${s.maximum}`, type: 'less_than_equal' };
    case ValueErrorType.Boolean:
      return { msg: `${field} must be true or false`, type: 'bool_type' };
    case ValueErrorType.Object:
      return { msg: `${field} must be an object`, type: 'dict_type' };
    case ValueErrorType.Array:
      return { msg: `${field} must be an array`, type: 'list_type' };
    case ValueErrorType.ArrayMaxItems:
      return { msg: `${field} must have at most ${s.maxItems} items`, type: 'too_long' };
    case ValueErrorType.Union:
      // A number is one of the union's types (an SQL parameter, a timestamp), but not this one.
      if (isInfinite(error.value)) return notFinite(field);
      return { msg: `${field} has the wrong type: ${unionHint(s)}`, type: 'union_type' };
    case ValueErrorType.Literal:
      return { msg: `${field} must be ${JSON.stringify(s.const)}`, type: 'literal_error' };
    default:
      return { msg: `${field}: ${error.message}`, type: 'value_error' };
  }
}

/** JSON.parse reads a number past the double range (1e400) as Infinity: it was a number. */
const isInfinite = (value: unknown) => typeof value === 'number' && !Number.isFinite(value);

function notFinite(field: string): Omit<FieldIssue, 'loc'> {
  return { msg: `${field} must be a finite number (within ±1.8e308)`, type: 'finite_number' };
}

/**
 * The name a message gives the field at `fieldPath` (under `loc`): its key, or for an array
 * item the path down to it, `params[0]` (a bare `0` names nothing).
 */
function fieldNameOf(
  fieldPath: readonly (string | number)[],
  loc: readonly (string | number)[],
): string {
  const last = fieldPath.at(-1);
  if (last === undefined) return nameOf(loc);
  return typeof last === 'number' ? nameOf(['', ...fieldPath]) : String(last);
}

/** A location as a name: ["body"] → "body", ["body", "events", 3] → "events[3]". */
function nameOf(loc: readonly (string | number)[]): string {
  if (loc.length <= 1) return String(loc[0] ?? 'body');
  return loc
    .slice(1)
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function unionHint(schema: Record<string, unknown>): string {
  return typeof schema.description === 'string' ? schema.description : 'see the schema';
}

/**
 * 422 naming `["body","tenant_id"]` for a `tenant_id` in `body` where the route takes the tenant
 * from elsewhere (`msg` says where): ignored like any unknown field, it ran or stored under
 * `default` and answered success. A null one counts as absent, as a null field does.
 */
export function refuseBodyTenant(body: object, msg: string): void {
  const tenant = (body as { tenant_id?: unknown }).tenant_id;
  if (!Object.hasOwn(body, 'tenant_id') || tenant === null) return;
  throw AppError.validation([{ loc: ['body', 'tenant_id'], msg, type: 'extra_forbidden' }]);
}
