// Umami's filter suggestions, GET /api/websites/:id/values (its getValues): the values of one
// field (`type`, as /metrics names them) with the most events in the range, each with its
// count; `search` keeps the values containing it (in any case), or any of up to 5
// comma-separated texts, as Umami searches them.

import { t } from 'elysia';
import type { WebFilter } from '../../query/index.ts';
import { jsonAnswer, queryParam } from './docs.ts';
import type { ReadContext } from './umami-read-context.ts';
import { webMetricsOf } from './umami-read-context.ts';
import { AUTH_NOTE, Count, ERRORS, ID, NullableText, RANGE } from './umami-read-docs.ts';
import { having, metricTypeOf, rangeOf } from './umami-read-params.ts';

/** Umami's bounds: 10 values, found by at most 5 texts of a search. */
const UMAMI_VALUES_MAX = 10;
const UMAMI_VALUE_SEARCHES_MAX = 5;

/** GET …/values: the top values of a field by their events, searched as Umami searches them. */
export async function umamiValues(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  // The field's own values (a language whole, as Umami's getValues reads its column); custom
  // events by their names.
  const type = metricTypeOf(ctx.query.get('type'));
  const property = type.metric === 'events' ? type.property : type.field;
  const search = ctx.query.get('search');
  const filters: WebFilter[] = 'prop' in property ? [having(property)] : [];
  if (search !== null && search !== '') {
    const values = search.split(',').slice(0, UMAMI_VALUE_SEARCHES_MAX);
    filters.push({ property, values, match: 'contains', ignoreCase: true, negated: false });
  }
  const dimension = { kind: 'property', property, limit: UMAMI_VALUES_MAX, offset: 0 } as const;
  const rows = await webMetricsOf(ctx, range, ['events'], filters)(dimension);
  return rows.map((row) => ({ value: row.key, count: row.values.events ?? 0 }));
}

export const VALUES_DOC = {
  summary: "Umami: a field's values, for filters",
  description:
    'The 10 values of a field (`type`, as /metrics takes it) with the most events in the ' +
    'range, most first; `search` keeps those containing it (any case), or any of up to 5 ' +
    'comma-separated texts.' +
    AUTH_NOTE,
  parameters: [
    ID,
    ...RANGE,
    queryParam('type', 'The field: path, referrer, title, browser, os, country, event, …', true),
    queryParam('search', 'Only values containing it (or one of its comma-separated texts).'),
  ],
  responses: {
    200: jsonAnswer('The values', t.Array(t.Object({ value: NullableText, count: Count })), [
      { value: '/pricing', count: 12 },
      { value: '/', count: 9 },
    ]),
    ...ERRORS,
  },
};
