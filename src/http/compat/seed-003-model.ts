// Seed 003 (FastAPI Analytics API): its EventCreateSchema, EventModel and bucket rows as
// schemas, with its documented request example, for the OpenAPI document of its routes; and
// its path parameter read as the UUID it is.

import { t } from 'elysia';
import { AppError } from '../../core/index.ts';
import { jsonInteger } from './docs.ts';

const optionalText = () => t.Optional(t.Nullable(t.String()));

/** The service's EventCreateSchema (visitOf() in seed-003.ts is what checks a body). */
export const VisitIn = t.Object(
  {
    page: t.String({ minLength: 1, description: 'Page path.' }),
    ip_address: t.Optional(
      t.Nullable(t.String({ description: 'Text that is no IP address counts as none.' })),
    ),
    user_agent: t.Optional(
      t.Nullable(t.String({ description: "The visit's; never the request's User-Agent." })),
    ),
    referrer: optionalText(),
    session_id: optionalText(),
    duration: t.Optional(
      t.Nullable(
        t.Union([t.Number(), t.Boolean(), t.String()], {
          description:
            'Seconds; 0 when absent, none when null. Read as Pydantic lax-reads an int: a ' +
            'number without a fraction (15.0), true or false, an integer as text ("15", "1_000").',
        }),
      ),
    ),
    description: optionalText(),
  },
  { additionalProperties: true },
);

/** The service's EventModel. */
export const VisitOut = t.Object({
  id: t.String({ format: 'uuid' }),
  time: t.String({ format: 'date-time', description: 'Receive time.' }),
  page: t.String(),
  ip_address: t.String({ description: 'Empty unless the operator stores client addresses.' }),
  user_agent: t.String(),
  referrer: t.String(),
  session_id: t.Nullable(t.String()),
  duration: t.Nullable(t.Number()),
  description: t.String(),
});

export const VisitBucketsOut = t.Array(
  t.Object({
    bucket: t.String({ description: 'Bucket start, UTC, without a zone: 2023-10-27T00:00:00.' }),
    page: t.String(),
    ua: t.String({ description: 'Always "": the schema defines it, its query fills none.' }),
    operating_system: t.String({ description: 'Windows, MacOS, iOS, Android, Linux or Other.' }),
    avg_duration: t.Nullable(t.Number()),
    count: jsonInteger(),
  }),
);

const WINDOWS_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/120.0.0.0 Safari/537.36';

/** The service's documented request example, and what it is answered with. */
export const exampleVisit = {
  page: '/homepage',
  ip_address: '192.168.1.1',
  user_agent: WINDOWS_UA,
  referrer: 'https://google.com',
  session_id: 'xyz789',
  duration: 15,
  description: 'User viewed homepage',
};

export const exampleVisitOut = {
  ...exampleVisit,
  id: '3f2b8c1e-9a4d-4e7f-b6c5-1d2e3f4a5b6c',
  time: '2023-10-27T09:41:07.120Z',
  ip_address: '',
};

/** A UUID as Pydantic reads one: hyphenated (also braced or a URN) or 32 hex digits, any case. */
const UUID =
  /^(?:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})|([0-9a-f]{32}))$/i;

/** The canonical text of a UUID (lower case, hyphenated), as Python writes str(UUID). */
export function canonicalUuid(value: string): string {
  const inner = value.startsWith('{') && value.endsWith('}') ? value.slice(1, -1) : value;
  const text = inner === value && value.startsWith('urn:uuid:') ? value.slice(9) : inner;
  // Braces and the URN prefix wrap the hyphenated form only, as the uuid crate parses them.
  const m = UUID.exec(text);
  if (m === null || (text !== value && m[6] !== undefined)) throw notUuid(value);
  const hex = (m[6] ?? m.slice(1, 6).join('')).toLowerCase();
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join('-');
}

function notUuid(value: string): AppError {
  return AppError.validation([
    {
      loc: ['path', 'event_id'],
      msg: `Input should be a valid UUID (got "${value}")`,
      type: 'uuid_parsing',
    },
  ]);
}
