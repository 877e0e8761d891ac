// The SQL endpoint of the read API (DESIGN.md §5): `POST /api/v1/query` runs one read-only
// SELECT over the caller's events, a thin handler over query/'s runSql (which parses,
// allow-lists and isolates the statement). Its body is read like an ingest body.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Elysia, type Static, t } from 'elysia';
import { AppError } from '../../core/index.ts';
import { queryLimits, runSql } from '../../query/index.ts';
import { type BodyFormat, parseJson, readBody } from '../body.ts';
import { openApiSchema } from '../model.ts';
import { readAnswers, SLOW_BODY_TEXT } from '../openapi-docs.ts';
import { sqlResultExample } from '../openapi-examples.ts';
import { SqlResultOut } from '../read-model.ts';
import { SqlBody, tenantParam } from '../read-params.ts';
import { issuesOf, refuseBodyTenant } from '../validate.ts';
import type { ReadDeps, TenantOf } from './reads.ts';

const sqlBodyChecker = TypeCompiler.Compile(SqlBody);
const SQL_BODY_TYPES: Record<string, BodyFormat> = { 'application/json': 'json' };

/** The SQL body is read like an ingest body: JSON only (415), gzip taken, size-limited (413). */
async function readSqlBody(request: Request): Promise<Static<typeof SqlBody>> {
  const { bytes } = await readBody(request, SQL_BODY_TYPES, queryLimits.sqlBodyBytesMax);
  const value = parseJson(bytes);
  // A null params counts as absent, as a null optional field of an event does: a client that
  // always sends its params (None when there are none) runs a statement without any.
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const body = value as Record<string, unknown>;
    if (body.params === null) delete body.params;
  }
  if (!sqlBodyChecker.Check(value)) {
    throw AppError.validation(issuesOf(sqlBodyChecker, value, ['body']));
  }
  refuseBodyTenant(
    value,
    'the tenant of a statement is the tenant_id query parameter, not a body field',
  );
  return value;
}

export function sqlRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  return new Elysia({ prefix: '/api/v1', tags: ['reads'] }).post(
    '/query',
    async ({ query, request }) => {
      const tenant = tenantOf(request, query);
      const body = await readSqlBody(request);
      // Checked again once the body is in (its rate already taken): a key revoked, a session
      // ended or a member removed while a slow body arrived must not still run a statement.
      // Checked for the tenant resolved, not the query again: a member who named none (their
      // only project) and got a second one meanwhile still reads the first.
      const named = { ...(query as Record<string, string | undefined>), tenant_id: tenant };
      const still = deps.tenantOf(request, named, { rateLimited: false });
      if (still !== tenant)
        throw new AppError('forbidden', `these credentials no longer read ${tenant}`);
      return runSql(deps.source, tenant, {
        sql: body.sql,
        params: body.params ?? [],
        timeoutMs: deps.queryTimeoutMs,
        rowsMax: deps.queryRowsMax,
        signal: request.signal,
      });
    },
    {
      parse: 'none',
      query: t.Object(tenantParam),
      detail: {
        summary: 'Run one read-only SQL SELECT over your events',
        responses: readAnswers(
          SqlResultOut,
          'Columns with their DuckDB types, and the rows',
          sqlResultExample,
          {
            400: 'Malformed JSON, or a statement that is refused',
            408:
              'The statement ran past the time limit (`query_timeout`), or (`request_timeout`) ' +
              SLOW_BODY_TEXT.toLowerCase(),
            413: `A body over ${queryLimits.sqlBodyBytesMax / 1024 / 1024} MiB`,
            415: 'A body that is not JSON',
            429:
              "The read rate limit, or the tenant's share of SQL statements running at once " +
              `(${queryLimits.sqlTenantProcessesMax}) or of reads is taken; see Retry-After`,
            503:
              `Every place for SQL statements (${queryLimits.sqlProcessesMax}) is taken; ` +
              'see Retry-After',
          },
        ),
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: openApiSchema(SqlBody),
              example: { sql: 'SELECT name, count(*) AS n FROM events GROUP BY name' },
            },
          },
        },
        description:
          'The statement reads the relation `events` (your tenant only); other tables, ' +
          'table functions, files, settings and DDL/DML are refused (400). It is stopped ' +
          'after the time limit (408) and returns at most the row limit of rows and ' +
          `${queryLimits.sqlResultCharsMax / 1024 / 1024}M characters of JSON rows ` +
          '(`truncated: true` beyond either). The tenant is the `tenant_id` query parameter ' +
          "(or the credentials' only project); a `tenant_id` in the body is refused (422).",
      },
    },
  );
}
