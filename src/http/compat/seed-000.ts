// Seed 000 (Data Pulse): POST /ingest with exactly its Pydantic schema — name one of signup,
// login, click, purchase; user_id 3–30 characters of [a-zA-Z0-9_-]; optional string→string
// properties — and its 422 bodies (Pydantic v1 messages, as its documented example shows).

import { Elysia, t } from 'elysia';
import { AppError, eventLimits, type FieldIssue } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import { fastApiIngestErrors, fastApiRequestBody, jsonAnswer } from './docs.ts';
import { numberSources, pythonNumberText, readFastApiBody } from './fastapi.ts';
import { contextOf, ingest, objectOf } from './ingest.ts';
import { json } from './responses.ts';

const DATA_PULSE_NAMES = ['signup', 'login', 'click', 'purchase'] as const;
/**
 * The service's `^[a-zA-Z0-9_-]+$` as Python's re.match reads it: its `$` also matches before a
 * final newline, so `abc_123\n` passes there (and is kept as sent); JavaScript's `$` does not.
 */
const USER_ID_PATTERN = /^[a-zA-Z0-9_-]+\n?$/;
const USER_ID_CHARS_MIN = 3;
const USER_ID_CHARS_MAX = 30;

interface DataPulseEvent {
  name: string;
  user_id: string;
  properties: Record<string, string> | null;
}

const StringMap = t.Record(t.String(), t.String());

/** The service's Pydantic model, for the docs (validate() below is what checks it). */
const DataPulseEventIn = t.Object(
  {
    name: t.Union(DATA_PULSE_NAMES.map((name) => t.Literal(name))),
    user_id: t.String({
      minLength: USER_ID_CHARS_MIN,
      maxLength: USER_ID_CHARS_MAX,
      pattern: USER_ID_PATTERN.source,
    }),
    properties: t.Optional(t.Nullable(StringMap)),
  },
  { additionalProperties: true },
);

const DataPulseAccepted = t.Object({
  status: t.Literal('accepted'),
  received_event: t.Object({
    name: t.String(),
    user_id: t.String(),
    properties: t.Nullable(StringMap, { description: 'null when the request had none.' }),
  }),
});

/** The service's documented valid example. */
const exampleEvent = {
  name: 'signup',
  user_id: 'user_42',
  properties: { source: 'landing_page', referrer: 'google' },
};

export function seed000Routes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] }).post(
    '/ingest',
    async ({ request, server }) => {
      admitIngest(deps);
      const numbers = numberSources();
      const body = await readFastApiBody(request, eventLimits.eventBytesMax, {
        type: 'value_error.jsondecode',
        reviver: numbers.reviver,
        oneEvent: true,
      });
      const event = validate(body, numbers.sourceOf);
      const ctx = contextOf(deps, request, server);
      const input = {
        name: event.name,
        user_id: event.user_id,
        ...(event.properties === null ? {} : { properties: event.properties }),
      };
      const events = prepareEvents([input], ctx, () => ['body']);
      await ingest(deps, request, events, () => ['body']);
      return json({ status: 'accepted', received_event: event }, 202);
    },
    {
      parse: 'none',
      detail: {
        summary: 'Data Pulse: ingest one event',
        description:
          'name ∈ signup, login, click, purchase; user_id 3–30 of [a-zA-Z0-9_-]; properties ' +
          'string→string. 202 once durable; 422 in Pydantic v1 shape.',
        requestBody: fastApiRequestBody(DataPulseEventIn, exampleEvent),
        responses: {
          202: jsonAnswer('Accepted once durable; echoes the event', DataPulseAccepted, {
            status: 'accepted',
            received_event: exampleEvent,
          }),
          ...fastApiIngestErrors(),
        },
      },
    },
  );
}

/** The JSON text a number was sent as, by the object holding it and its key. */
type SourceOf = (holder: object, key: string) => string | undefined;

function validate(value: unknown, sourceOf: SourceOf): DataPulseEvent {
  const entries = v1Dict(value, sourceOf);
  if (entries === undefined || entries.some(([key]) => typeof key !== 'string')) {
    throw invalid([issue(['body'], 'value is not a valid dict', 'dict')]);
  }
  const body = Object.fromEntries(entries) as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  const name = body.name;
  if (name === undefined) {
    issues.push(missing('name'));
  } else if (name === null) {
    issues.push(noneNotAllowed('name'));
  } else if (!(DATA_PULSE_NAMES as readonly unknown[]).includes(name)) {
    const permitted = DATA_PULSE_NAMES.map((n) => `'${n}'`).join(', ');
    issues.push({
      ...issue(
        ['body', 'name'],
        `value is not a valid enumeration member; permitted: ${permitted}`,
        'enum',
      ),
      // Pydantic v1 adds an error's context (EnumMemberError's enum_values) as ctx.
      ctx: { enum_values: [...DATA_PULSE_NAMES] },
    });
  }
  const userId = body.user_id;
  if (userId === undefined) issues.push(missing('user_id'));
  else if (userId === null) issues.push(noneNotAllowed('user_id'));
  else checkUserId(userId, issues);
  const properties = checkProperties(body.properties, issues, sourceOf);
  if (issues.length > 0) throw invalid(issues);
  return { name: name as string, user_id: userId as string, properties };
}

/**
 * A `str` field as Pydantic v1 reads it: numbers and booleans become their text as Python
 * writes it (12345 → "12345", 1.0 → "1.0", a 20-digit integer exactly, true → "True"), from
 * the number's `source` text as sent; other values are left for the type check.
 */
function v1Str(value: unknown, source: string | undefined): unknown {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return pythonNumberText(value, source);
  return value;
}

function checkUserId(userId: unknown, issues: FieldIssue[]): void {
  const loc = ['body', 'user_id'];
  // Python's len() counts code points: an emoji is one character there, two UTF-16 units here.
  const chars = typeof userId === 'string' ? [...userId].length : 0;
  if (typeof userId !== 'string') {
    issues.push(issue(loc, 'str type expected', 'str'));
  } else if (chars < USER_ID_CHARS_MIN) {
    issues.push({
      loc,
      msg: `ensure this value has at least ${USER_ID_CHARS_MIN} characters`,
      type: 'value_error.any_str.min_length',
      ctx: { limit_value: USER_ID_CHARS_MIN },
    });
  } else if (chars > USER_ID_CHARS_MAX) {
    issues.push({
      loc,
      msg: `ensure this value has at most ${USER_ID_CHARS_MAX} characters`,
      type: 'value_error.any_str.max_length',
      ctx: { limit_value: USER_ID_CHARS_MAX },
    });
  } else if (!USER_ID_PATTERN.test(userId)) {
    issues.push({
      loc,
      msg: 'user_id must be alphanumeric with optional _ or -',
      type: 'value_error',
    });
  }
}

function checkProperties(
  value: unknown,
  issues: FieldIssue[],
  sourceOf: SourceOf,
): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  const entries = v1Dict(value, sourceOf);
  if (entries === undefined) {
    issues.push(issue(['body', 'properties'], 'value is not a valid dict', 'dict'));
    return null;
  }
  const strings: [string, string][] = [];
  for (const [key, text] of entries) {
    if (typeof key !== 'string') {
      issues.push(issue(['body', 'properties', '__key__'], 'none is not an allowed value', NONE));
    } else if (typeof text === 'string') {
      strings.push([key, text]);
    } else {
      const [msg, type] = text === null ? ['none is not an allowed value', NONE] : STR_EXPECTED;
      issues.push(issue(['body', 'properties', key], msg, type));
    }
  }
  // fromEntries defines keys: a "__proto__" property is kept like any other, not assigned.
  return Object.fromEntries(strings);
}

const NONE = 'none.not_allowed';
const STR_EXPECTED = ['str type expected', 'str'] as const;

/**
 * A dict as Pydantic v1 reads one, `dict(value)`: an object's entries, or a list of pairs (each
 * a list of two, a string of two characters or an object of two keys: `[]` is `{}`, as PHP
 * writes an empty map), keys and values through v1Str; undefined where dict() raises (a pair of
 * another length, an unhashable key). A key that is null stays null, for its own error.
 */
function v1Dict(value: unknown, sourceOf: SourceOf): [unknown, unknown][] | undefined {
  const object = objectOf(value);
  if (object !== undefined) {
    return Object.entries(object).map(([key, v]) => [key, v1Str(v, sourceOf(object, key))]);
  }
  if (!Array.isArray(value)) return undefined;
  const entries: [unknown, unknown][] = [];
  for (const item of value) {
    const pair = pairOf(item);
    if (pair === undefined) return undefined;
    const at = (i: number) => (Array.isArray(item) ? sourceOf(item, String(i)) : undefined);
    entries.push([v1Str(pair[0], at(0)), v1Str(pair[1], at(1))]);
  }
  return entries;
}

/** An item of dict()'s list as the pair it unpacks to; undefined where dict() raises. */
function pairOf(item: unknown): unknown[] | undefined {
  const object = objectOf(item);
  const pair =
    typeof item === 'string'
      ? [...item]
      : Array.isArray(item)
        ? item
        : object && Object.keys(object);
  if (pair?.length !== 2) return undefined;
  // A key must be hashable: a list or an object is not.
  return typeof pair[0] === 'object' && pair[0] !== null ? undefined : pair;
}

function missing(field: string): FieldIssue {
  return { loc: ['body', field], msg: 'field required', type: 'value_error.missing' };
}

/** Pydantic v1's error for null in a required field: the wrong value, not a missing field. */
function noneNotAllowed(field: string): FieldIssue {
  return issue(['body', field], 'none is not an allowed value', 'none.not_allowed');
}

function issue(loc: (string | number)[], msg: string, typeError: string): FieldIssue {
  return { loc, msg, type: `type_error.${typeError}` };
}

function invalid(issues: FieldIssue[]): AppError {
  return AppError.validation(issues);
}
