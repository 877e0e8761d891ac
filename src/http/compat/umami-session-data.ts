// Umami's session data reads over Tally's events: GET /api/websites/:id/sessions/:sessionId/
// properties (one session's data), /session-data/properties and /session-data/values, with the
// parameters and answers of today's Umami. Umami's session data is the `data` of its identify
// items; Tally stores those as uncounted events (umami-events.ts), and query/'s
// get-session-data.ts reads them: each key of a session (a visitor) holds its latest value.

import { Elysia } from 'elysia';
import { eventLimits, UMAMI_IDENTIFY_EVENT_NAME } from '../../core/index.ts';
import {
  getSessionData,
  getSessionDataProperties,
  getSessionDataValues,
  type SessionDataScope,
} from '../../query/index.ts';
import { scopeOf as eventDataScopeOf } from './umami-event-data.ts';
import { type ReadContext, type ReadRoute, readSession } from './umami-read-context.ts';
import { badRequest } from './umami-read-params.ts';
import {
  SESSION_DATA_PROPERTIES_DOC,
  SESSION_DATA_VALUES_DOC,
  SESSION_PROPERTIES_DOC,
} from './umami-session-data-docs.ts';

/** Umami's row limits: keys list 500 rows, values 100. */
const UMAMI_SESSION_DATA_ROWS_MAX = 500;
const UMAMI_SESSION_DATA_VALUES_MAX = 100;

export function umamiSessionDataRoutes(r: ReadRoute) {
  return new Elysia({ name: 'umami-session-data', tags: ['compatibility'] })
    .get('/api/websites/:id/sessions/:sessionId/properties', r(sessionProperties), {
      detail: SESSION_PROPERTIES_DOC,
    })
    .get('/api/websites/:id/session-data/properties', r(properties), {
      detail: SESSION_DATA_PROPERTIES_DOC,
    })
    .get('/api/websites/:id/session-data/values', r(values), { detail: SESSION_DATA_VALUES_DOC });
}

const read = (ctx: ReadContext) => [ctx.deps.engine.store, ctx.website.tenant] as const;

/** The range, filters and key of a list (as event data's), and its row limit. */
function scopeOf(ctx: ReadContext, limit: number): SessionDataScope {
  return { ...eventDataScopeOf(ctx), limit };
}

/**
 * GET …/sessions/:sessionId/properties (an id longer than any visitor id has none): the
 * session's, found as readSession finds it; each row names the id asked.
 */
async function sessionProperties(ctx: ReadContext) {
  const sessionId = ctx.params.sessionId as string;
  if (sessionId.length > eventLimits.idCharsMax) return [];
  const rows = await readSession(
    ctx,
    (visitorId) => getSessionData(...read(ctx), visitorId, ctx.request.signal),
    (found) => found.length > 0,
    // The data is that of identify events: only they can name the session, and the miss (a
    // session without data, the common case) scans no more than the read did.
    UMAMI_IDENTIFY_EVENT_NAME,
  );
  return rows.map((row) => ({
    websiteId: ctx.website.id,
    sessionId,
    dataKey: row.dataKey,
    dataType: row.dataType,
    stringValue: row.stringValue,
    numberValue: row.numberValue,
    dateValue: row.dateValue,
    createdAt: new Date(row.atMs).toISOString(),
  }));
}

/** GET …/session-data/properties: each key and type with its sessions. */
async function properties(ctx: ReadContext) {
  const scope = scopeOf(ctx, UMAMI_SESSION_DATA_ROWS_MAX);
  return getSessionDataProperties(...read(ctx), scope, ctx.request.signal);
}

/** GET …/session-data/values: one key's values with their sessions, the top 100. */
async function values(ctx: ReadContext) {
  const scope = scopeOf(ctx, UMAMI_SESSION_DATA_VALUES_MAX);
  const { propertyName } = scope;
  if (propertyName === undefined) throw badRequest('The `propertyName` parameter is required.');
  return getSessionDataValues(...read(ctx), { ...scope, propertyName }, ctx.request.signal);
}
