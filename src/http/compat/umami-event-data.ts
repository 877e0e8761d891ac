// Umami's event data reads over Tally's events: GET /api/websites/:id/event-data (a page of
// events with their data), its /events, /fields, /values, /properties, /stats and /:eventId,
// with the parameters and answers of today's Umami.
// Umami's event data is the custom data of custom events; here it is the own properties of
// Tally's custom events (query/'s event-data.ts says which: not a page view's, not `$` keys),
// typed as Umami types them. Filters hold on each custom event, as the other reads' do.

import { Elysia } from 'elysia';
import { eventLimits } from '../../core/index.ts';
import {
  getEventDataEvents,
  getEventDataFields,
  getEventDataOfEvent,
  getEventDataProperties,
  getEventDataStats,
  getEventDataValues,
  listEventData,
} from '../../query/index.ts';
import {
  EVENT_DATA_EVENTS_DOC,
  EVENT_DATA_FIELDS_DOC,
  EVENT_DATA_LIST_DOC,
  EVENT_DATA_OF_EVENT_DOC,
  EVENT_DATA_PROPERTIES_DOC,
  EVENT_DATA_STATS_DOC,
  EVENT_DATA_VALUES_DOC,
} from './umami-event-data-docs.ts';
import type { ReadContext, ReadRoute } from './umami-read-context.ts';
import { badRequest, filtersOf, pageOf, rangeOf } from './umami-read-params.ts';

/** Umami's row limits: events and properties list 500 rows, fields and values 100. */
const UMAMI_EVENT_DATA_ROWS_MAX = 500;
const UMAMI_EVENT_DATA_VALUES_MAX = 100;
/** Names longer than this are no event or property Tally stores (Umami's 500 too). */
const NAME_CHARS_MAX = 500;

export function umamiEventDataRoutes(r: ReadRoute) {
  const path = '/api/websites/:id/event-data';
  return new Elysia({ name: 'umami-event-data', tags: ['compatibility'] })
    .get(path, r(list), { detail: EVENT_DATA_LIST_DOC })
    .get(`${path}/events`, r(events), { detail: EVENT_DATA_EVENTS_DOC })
    .get(`${path}/fields`, r(fields), { detail: EVENT_DATA_FIELDS_DOC })
    .get(`${path}/values`, r(values), { detail: EVENT_DATA_VALUES_DOC })
    .get(`${path}/properties`, r(properties), { detail: EVENT_DATA_PROPERTIES_DOC })
    .get(`${path}/stats`, r(stats), { detail: EVENT_DATA_STATS_DOC })
    .get(`${path}/:eventId`, r(ofEvent), { detail: EVENT_DATA_OF_EVENT_DOC });
}

/** An optional name parameter: absent when empty, as Umami's `if (eventName)`. */
function nameOf(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > NAME_CHARS_MAX) {
    throw badRequest(`${name} must be at most ${NAME_CHARS_MAX} characters.`);
  }
  return value;
}

/**
 * The range and filters of a read, and the property it is narrowed to (`propertyName`); the
 * session data reads take it too.
 */
export function scopeOf(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const propertyName = nameOf(ctx.query, 'propertyName');
  return {
    fromMs: range.fromMs,
    toMs: range.toMs,
    filters: filtersOf(ctx.query),
    ...(propertyName === undefined ? {} : { propertyName }),
  };
}

const read = (ctx: ReadContext) => [ctx.deps.engine.store, ctx.website.tenant] as const;

/**
 * GET …/event-data/events: each event's properties with their type and count; with `event`
 * (a filter on the name, as everywhere), by each value too.
 */
async function events(ctx: ReadContext) {
  const values = nameOf(ctx.query, 'event') !== undefined;
  const options = { ...scopeOf(ctx), values, limit: UMAMI_EVENT_DATA_ROWS_MAX };
  return getEventDataEvents(...read(ctx), options, ctx.request.signal);
}

/** GET …/event-data/fields: each property and value with its count, by data type. */
async function fields(ctx: ReadContext) {
  const options = { ...scopeOf(ctx), limit: UMAMI_EVENT_DATA_VALUES_MAX };
  return getEventDataFields(...read(ctx), options, ctx.request.signal);
}

/** GET …/event-data/values: one property's values (of one event: `eventName`), the top 100. */
async function values(ctx: ReadContext) {
  const scope = scopeOf(ctx);
  const { propertyName } = scope;
  if (propertyName === undefined) throw badRequest('The `propertyName` parameter is required.');
  const eventName = nameOf(ctx.query, 'eventName');
  const options = {
    ...scope,
    propertyName,
    ...(eventName === undefined ? {} : { eventName }),
    limit: UMAMI_EVENT_DATA_VALUES_MAX,
  };
  return getEventDataValues(...read(ctx), options, ctx.request.signal);
}

/** GET …/event-data/properties: each event's property names with their count. */
async function properties(ctx: ReadContext) {
  const options = { ...scopeOf(ctx), limit: UMAMI_EVENT_DATA_ROWS_MAX };
  return getEventDataProperties(...read(ctx), options, ctx.request.signal);
}

/** GET …/event-data/stats: events with data, distinct properties, and properties in all. */
async function stats(ctx: ReadContext) {
  return getEventDataStats(...read(ctx), scopeOf(ctx), ctx.request.signal);
}

/**
 * GET …/event-data: the custom events with data in the range that match the filters, the
 * newest first, a page of them, each with its properties as …/:eventId answers them.
 */
async function list(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const { page, pageSize } = pageOf(ctx.query);
  const options = {
    fromMs: range.fromMs,
    toMs: range.toMs,
    filters: filtersOf(ctx.query),
    limit: pageSize,
    offset: (page - 1) * pageSize,
  };
  const found = await listEventData(...read(ctx), options, ctx.request.signal);
  const data = found.events.map((event) => {
    const createdAt = new Date(event.atMs).toISOString();
    return {
      websiteId: ctx.website.id,
      eventId: event.eventId,
      eventName: event.eventName,
      eventProperties: event.properties.map((p) => ({
        dataKey: p.dataKey,
        stringValue: p.stringValue,
        numberValue: p.numberValue,
        dateValue: p.dateValue,
        dataType: p.dataType,
        createdAt,
      })),
    };
  });
  return { data, count: found.total, page, pageSize };
}

/**
 * GET …/event-data/:eventId: each property of one custom event, as Umami's getEventData rows
 * (an id longer than any event id has none).
 */
async function ofEvent(ctx: ReadContext) {
  const eventId = ctx.params.eventId as string;
  if (eventId.length > eventLimits.eventIdCharsMax) return [];
  const rows = await getEventDataOfEvent(...read(ctx), eventId, ctx.request.signal);
  return rows.map((row) => ({
    websiteId: ctx.website.id,
    eventId,
    eventName: row.eventName,
    dataKey: row.dataKey,
    stringValue: row.stringValue,
    numberValue: row.numberValue,
    dateValue: row.dateValue,
    dataType: row.dataType,
    createdAt: new Date(row.atMs).toISOString(),
  }));
}
