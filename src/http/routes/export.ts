// GET /api/v1/export: every stored event of the caller's tenant in a range, as NDJSON, CSV or
// Parquet, streamed (export-stream.ts) in (timestamp, event_id) order; a thin handler over
// query/'s exportEventPages and exportParquet. The tenant is resolved as for every other read.

import { Elysia } from 'elysia';
import { CREDENTIALS_RECHECK_MS, CREDENTIALS_UNCHECKED_ROUNDS_MAX } from '../../live/index.ts';
import {
  type ExportFormat,
  type ExportOptions,
  exportEventPages,
  exportParquet,
  listIncludesBots,
  propertyFiltersOf,
  queryLimits,
  resolveRange,
} from '../../query/index.ts';
import { noteStreamed } from '../context.ts';
import { ExportAccess } from '../export-access.ts';
import { CSV_HEADER, csvOf, ndjsonOf } from '../export-format.ts';
import { ExportSlots } from '../export-slots.ts';
import {
  type CredentialsCheck,
  credentialsCheck,
  fileStream,
  lapsed,
  type StreamControl,
  type TextBody,
  textStream,
} from '../export-stream.ts';
import { openApiSchema, StoredEventOut } from '../model.ts';
import { NO_STORE_HEADERS } from '../no-store.ts';
import { readErrorDocs } from '../openapi-docs.ts';
import { storedEventExample } from '../openapi-examples.ts';
import { ExportQuery } from '../read-params.ts';
import { serverWorkOf } from '../server-work.ts';
import { isRefusal } from '../tenancy.ts';
import { refuseVisitFilters } from '../visit-refusal.ts';
import type { ReadDeps, TenantOf } from './reads.ts';

type Query = Record<string, string | undefined>;

/** The filters an export takes (ExportQuery's, and property.<key>). */
const EXPORT_FILTERS =
  'name, user_id, anonymous_id, visitor_id, session_id, source, path, os, browser, device, ' +
  'country or property.<key>';

const MEDIA_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

const TEXT_BODIES: Record<'ndjson' | 'csv', TextBody> = {
  ndjson: { head: '', format: ndjsonOf },
  csv: { head: CSV_HEADER, format: csvOf },
};

export function exportRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  const now = deps.now ?? Date.now;
  const slots = new ExportSlots(queryLimits.exportsPerTenantMax);
  const access = new ExportAccess(deps.accessLost);
  return new Elysia({ prefix: '/api/v1', tags: ['events'] }).get(
    '/export',
    async ({ query, request, server }) => {
      // The schema admits only EXPORT_FORMATS (its union of literals is typed as none of them).
      const format = (query.format ?? 'ndjson') as ExportFormat;
      refuseVisitFilters(new URL(request.url).searchParams, 'an export', EXPORT_FILTERS);
      const { fromMs, toMs } = resolveRange(query);
      const tenant = tenantOf(request, query);
      const options: ExportOptions = {
        name: query.name,
        user_id: query.user_id,
        anonymous_id: query.anonymous_id,
        visitor_id: query.visitor_id,
        session_id: query.session_id,
        source: query.source,
        path: query.path,
        os: query.os,
        browser: query.browser,
        device: query.device,
        country: query.country,
        properties: propertyFiltersOf(request.url),
        includeBots: listIncludesBots(query),
        fromMs,
        toMs,
      };
      const headers = exportHeaders(format, tenant, now());
      // HEAD (answered by this GET route) sends no body: nothing is read or written for it. Its
      // headers are those of the GET, whose body is streamed (chunked): without saying so, Bun
      // would add `Content-Length: 0`, the length of an empty export.
      if (request.method === 'HEAD') {
        return new Response(null, { headers: { ...headers, 'transfer-encoding': 'chunked' } });
      }
      // Given back once the export ended (see StreamControl.ended), or its client went away.
      const free = slots.take(tenant);
      // The credentials are asked every few seconds, and at once after a loss of access made
      // through Tally (export-access.ts), which cuts the export then.
      const reads = () => stillReads(deps, request, query, tenant);
      const cut = new AbortController();
      const unwatch = access.watch(() => {
        if (reads() === false) cut.abort();
      });
      const periodic = credentialsCheck(
        reads,
        now,
        CREDENTIALS_RECHECK_MS,
        CREDENTIALS_UNCHECKED_ROUNDS_MAX,
      );
      const streamEnded = noteStreamed(request); // its request-log line waits for the end
      const release = () => {
        unwatch();
        free();
        streamEnded();
      };
      request.signal.addEventListener('abort', release, { once: true });
      // The project's deletion is asked at every page and chunk, not every few seconds as the
      // credentials are: a page read after it would find none of its events and end the export
      // as if it were whole.
      const decided = deps.deletions?.decidedOf(tenant);
      const control: StreamControl = {
        allowed: () => !cut.signal.aborted && periodic(),
        cut: cut.signal,
        gone: () => deps.deletions?.decidedOf(tenant) !== decided,
        work: serverWorkOf(server, request),
        stallMs: queryLimits.exportStallMsMax,
        log: deps.log,
        ended: release,
      };
      try {
        const body = await exportBody(deps, format, tenant, options, request, control);
        // Streamed, so sent chunked: Bun sends no Content-Length for a stream, whatever it says.
        return new Response(body, { headers });
      } catch (error) {
        release();
        throw error;
      }
    },
    { query: ExportQuery, detail: EXPORT_DOC },
  );
}

/** The body of an export: a Parquet file written by DuckDB, or text pages. */
async function exportBody(
  deps: ReadDeps,
  format: ExportFormat,
  tenant: string,
  options: ExportOptions,
  request: Request,
  control: StreamControl,
): Promise<ReadableStream<Uint8Array>> {
  const cut = control.cut === undefined ? [] : [control.cut];
  if (format === 'parquet') {
    // Interrupted when the client goes away, or by a loss of access (then a 401).
    const signal = AbortSignal.any([request.signal, ...cut]);
    const file = await control.work
      .run(() => exportParquet(deps.source, tenant, options, signal))
      .catch((error: unknown) => {
        throw control.cut?.aborted === true ? lapsed() : error;
      });
    return fileStream(file, request.signal, control);
  }
  // Stopped when the client goes away (request.signal), cancels the body (stop) or loses its
  // access (cut).
  const stop = new AbortController();
  const signal = AbortSignal.any([request.signal, stop.signal, ...cut]);
  const pages = exportEventPages(deps.source, tenant, options, signal, deps.exportPage);
  return textStream(pages, TEXT_BODIES[format], stop, control);
}

/**
 * Whether the request's credentials still read `tenant` (a key not revoked, a session not
 * ended, a token not expired, access not lost), checked without spending its rate limit.
 * Checked for the tenant the export sends, not for what its query would resolve to now: a
 * member who asked without tenant_id (their only project) and got a second project meanwhile
 * still reads this one.
 */
function stillReads(
  deps: ReadDeps,
  request: Request,
  query: Query,
  tenant: string,
): CredentialsCheck {
  try {
    const named = { ...query, tenant_id: tenant };
    return deps.tenantOf(request, named, { rateLimited: false }) === tenant;
  } catch (error) {
    if (isRefusal(error)) return false; // revoked key, ended session, lost membership
    deps.log?.warn('export: checking credentials failed; checked again next round', {
      tenant,
      error: String(error),
    });
    return null;
  }
}

function exportHeaders(format: ExportFormat, tenant: string, nowMs: number) {
  return {
    'content-type': MEDIA_TYPES[format],
    'content-disposition': `attachment; filename="${exportFileName(tenant, nowMs, format)}"`,
    ...NO_STORE_HEADERS,
  };
}

/**
 * `tally-<tenant>-<UTC time of the export>.<format>`, e.g. tally-acme-20261125T120000Z.csv:
 * only letters, digits, `.`, `_` and `-` (anything else in the tenant becomes `_`), so the
 * name needs no escaping in the header and is a valid file name everywhere.
 */
export function exportFileName(tenant: string, nowMs: number, format: ExportFormat): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '');
  const name = tenant.replaceAll(/[^A-Za-z0-9._-]/g, '_').slice(0, FILE_TENANT_CHARS_MAX);
  return `tally-${name}-${stamp}.${format}`;
}

/** Characters of the tenant a file name keeps. */
export const FILE_TENANT_CHARS_MAX = 64;

const EXPORT_DOC = {
  summary: 'Export stored events (NDJSON, CSV or Parquet)',
  description:
    'Every stored field of every event of the range, oldest first: ordered by timestamp, ' +
    'then event_id (then received_at), a stable order. Bots included unless bots=exclude ' +
    '(an export is the raw data); filters as GET /api/v1/events without its visit filters ' +
    '(each one sent is a 422 naming it: computed over visits, not stored). Without from it ' +
    'starts at the first event, without to it takes every later one. The export holds the events ' +
    'acknowledged by the time it starts, flushed or not, each exactly once while flushes and ' +
    'compactions run; events that arrive meanwhile are left for the next export, unless the ' +
    "server's clock received them no later than the latest receipt among those (see the " +
    `README). NDJSON and CSV are streamed in pages of up to ${queryLimits.exportPageRows} ` +
    `events and ${queryLimits.exportPageBytes / 1024 / 1024} MiB of JSON, ` +
    'each page a read of its own; Parquet is written by DuckDB to a file in the data ' +
    "directory's staging directory (one read), then sent and removed. Once the answer has " +
    'begun, a failure cuts the connection (an export without its end is incomplete), and so ' +
    'do credentials that lapse while it is sent (a revoked key, an expired token: checked ' +
    `every ${CREDENTIALS_RECHECK_MS / 1000} s, and at once after a key revoked, a session ` +
    'ended or a member removed through Tally; a check that ' +
    `fails by itself, ${CREDENTIALS_UNCHECKED_ROUNDS_MAX} times in a row), a deletion of its ` +
    'project (at once) and a client that ' +
    `takes nothing for ${queryLimits.exportStallMsMax / 60_000} minutes. CSV: a header row of ` +
    'the fields in the order of this example, RFC 4180 quoting, CRLF, properties as JSON ' +
    'text, absent values empty and empty strings `""`; values are not altered against ' +
    'spreadsheet formulas.',
  responses: {
    200: {
      description: 'The events, as an attachment (Content-Disposition), not cached',
      content: {
        'application/x-ndjson': {
          schema: openApiSchema(StoredEventOut),
          example: ndjsonOf([storedEventExample]).trimEnd(),
        },
        'text/csv': {
          schema: { type: 'string' as const },
          example: CSV_HEADER + csvOf([storedEventExample]),
        },
        'application/vnd.apache.parquet': {
          schema: { type: 'string' as const, format: 'binary' },
          example: 'PAR1…PAR1 (a Parquet file: the fields above as columns, times UTC)',
        },
      },
    },
    ...readErrorDocs({
      429:
        "The read rate limit, the tenant's reads running and waiting at once, or " +
        `${queryLimits.exportsPerTenantMax} of its exports being sent (tenant_overloaded); ` +
        'see Retry-After',
      503: "Parquet: the data directory's disk is full; see Retry-After",
    }),
  },
};
