// OpenAPI documentation of Umami's session data reads (umami-session-data.ts): parameters,
// Umami's answers with examples, its error body.

import { t } from 'elysia';
import { jsonAnswer, queryParam } from './docs.ts';
import { SESSION_ID } from './umami-activity-docs.ts';
import { DataType, EVENT_DATA_PARAMS } from './umami-event-data-docs.ts';
import { AUTH_NOTE, Count, ERRORS, ID, NullableText } from './umami-read-docs.ts';

const DATA_NOTE =
  " Umami's session data: the `data` of its `identify` items (umami.identify() of the " +
  'tracker), stored by Tally as uncounted events, flattened and typed as event data is ' +
  '(nested keys with dots, an array one value); each key of a session holds the value of its ' +
  'latest identify.';
const LISTS_NOTE =
  ' Counts the sessions with an event in the range that matches the filters, whatever the time ' +
  'of the identify that set their data.';

export const SESSION_PROPERTIES_DOC = {
  summary: "Umami: a session's data",
  description:
    `Every key of the session's data, by key (\`[]\` for a session with none).${DATA_NOTE}` +
    AUTH_NOTE,
  parameters: [ID, SESSION_ID],
  responses: {
    200: jsonAnswer(
      'One row per key',
      t.Array(
        t.Object({
          websiteId: t.String(),
          sessionId: t.String(),
          dataKey: t.String(),
          dataType: DataType,
          stringValue: t.String({
            description: 'As Umami stores it, `.0000` taken out (`3`, `3.5000`).',
          }),
          numberValue: t.Union([t.Number(), t.Null()]),
          dateValue: NullableText,
          createdAt: t.String({ format: 'date-time', description: "The identify's time." }),
        }),
      ),
      [
        {
          websiteId: '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b',
          sessionId: '9d8e7f6a-5b4c-5d2e-9f0a-1b2c3d4e5f60',
          dataKey: 'plan',
          dataType: 1,
          stringValue: 'pro',
          numberValue: null,
          dateValue: null,
          createdAt: '2026-11-25T09:11:00.000Z',
        },
      ],
    ),
    ...ERRORS,
  },
};

export const SESSION_DATA_PROPERTIES_DOC = {
  summary: 'Umami: session data keys',
  description:
    'Each key and data type of the session data with how many sessions hold it, the most ' +
    `first (at most 500 rows).${LISTS_NOTE}${DATA_NOTE}${AUTH_NOTE}`,
  parameters: [...EVENT_DATA_PARAMS, queryParam('propertyName', 'Only this key.')],
  responses: {
    200: jsonAnswer(
      'One row per key and type',
      t.Array(t.Object({ propertyName: t.String(), dataType: DataType, total: Count })),
      [{ propertyName: 'plan', dataType: 1, total: 2 }],
    ),
    ...ERRORS,
  },
};

export const SESSION_DATA_VALUES_DOC = {
  summary: "Umami: a session data key's values",
  description:
    'The values of `propertyName` with how many sessions hold each, the most first (at most ' +
    `100 rows); numbers without \`.0000\`, dates by their UTC hour.${LISTS_NOTE}${DATA_NOTE}` +
    AUTH_NOTE,
  parameters: [
    ...EVENT_DATA_PARAMS,
    queryParam('propertyName', 'The key.', true),
    queryParam('dataType', 'Accepted and ignored, as Umami ignores it.'),
  ],
  responses: {
    200: jsonAnswer('One row per value', t.Array(t.Object({ value: t.String(), total: Count })), [
      { value: 'pro', total: 2 },
    ]),
    ...ERRORS,
  },
};
