// The guard of the SQL endpoint. A statement is parsed by DuckDB itself (json_serialize_sql
// parses without binding or running anything) and its whole syntax tree is walked against
// allow-lists: exactly one SELECT (set operations and CTEs fine); every table reference is
// `events` or a CTE in scope, unqualified; no table functions; every function and operator
// on the allow-list of sql-functions.ts; only known expression kinds; positional parameters
// only. CTE names must be plain identifiers that shadow no relation of the database, so no
// name can fall through to the hot table, a system view or a file. Refusals are 400s.

import { type DuckDBConnection, listValue } from '@duckdb/node-api';
import { AppError } from '../core/index.ts';
import { queryLimits } from './limits.ts';
import { asciiLower, isAllowedFunction } from './sql-functions.ts';
import { nameParameters, parameterSpellingProblem, SQL_PARAM_PREFIX } from './sql-placeholders.ts';

/** The relation the statement reads: the caller's own events, bound by the runner. */
export const EVENTS_RELATION = 'events';

const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE']);
const TABLE_REFS = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'EMPTY', 'EXPRESSION_LIST', 'PIVOT']);
const EXPRESSIONS = new Set([
  'BETWEEN',
  'CASE',
  'CAST',
  'COLLATE',
  'COLUMN_REF',
  'COMPARISON',
  'CONJUNCTION',
  'CONSTANT',
  'FUNCTION',
  'LAMBDA',
  'LAMBDA_REF',
  'OPERATOR',
  'PARAMETER',
  'POSITIONAL_REFERENCE',
  'STAR',
  'SUBQUERY',
  'WINDOW',
]);
const CTE_NAME = /^[a-z_][a-z0-9_]*$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Node = { [key: string]: Json };

export interface GuardedStatement {
  /** The statement with its parameters renamed ($sql_param_N) and no trailing semicolon. */
  sql: string;
  /** Its syntax tree, which the wrapped statement must embed (source positions aside). */
  tree: Json;
  /** Number of positional parameters ($1 … $N). */
  paramCount: number;
}

interface Findings {
  problems: string[];
  ctes: Set<string>;
  params: Set<string>;
}

/** Checks `sql` and returns it ready to wrap; 400 naming the first problem otherwise. */
export async function guardSql(
  connection: DuckDBConnection,
  sql: string,
): Promise<GuardedStatement> {
  // DuckDB's parser reads a statement as a C string: a NUL ends it there, and the refusal
  // spoke of what followed as missing ("unterminated quoted string" for 'a\0b').
  if (sql.includes('\u0000')) {
    throw refuse(
      'the statement holds a NUL character (\\u0000), which DuckDB reads as its end; ' +
        'write chr(0) for one in a value',
    );
  }
  const spelling = parameterSpellingProblem(sql, queryLimits.sqlParamsMax);
  if (spelling !== null) throw refuse(spelling);
  const original = await parseOne(connection, sql);
  const findings: Findings = { problems: [], ctes: new Set(), params: new Set() };
  walk(original, new Set(), findings);
  const [problem] = findings.problems;
  if (problem !== undefined) throw refuse(problem);
  const paramCount = checkParams(findings.params);
  await checkCteNames(connection, findings.ctes);
  const spelled: string[] = [];
  const renamed = nameParameters(sql, spelled);
  const tree = await parseOne(connection, renamed);
  if (!sameTree(original, tree, true)) {
    // DuckDB numbers a ? after a $N on from it ($1, ? is $1, $2): what nameParameters reads
    // as one parameter; said so, not as a statement that "could not be bound".
    const mixed = spelled.includes('?') && spelled.some((text) => text.startsWith('$'));
    throw refuse(
      mixed
        ? 'the statement mixes ? and $1, $2, …; write its parameters one way'
        : 'the parameters of this statement could not be bound; use ? or $1, $2, …',
    );
  }
  return { sql: renamed, tree, paramCount };
}

/**
 * Checks that `wrapped` is `WITH events AS (…) SELECT * FROM (<statement>) …` with the guarded
 * statement embedded unchanged, so what runs is exactly what was checked.
 */
export async function verifyWrapped(
  connection: DuckDBConnection,
  wrapped: string,
  statement: GuardedStatement,
): Promise<void> {
  const node = await parseOne(connection, wrapped);
  const ctes = (node.cte_map as Node | undefined)?.map as Node[] | undefined;
  const from = node.from_table as Node | undefined;
  const inner = (from?.subquery as Node | undefined)?.node as Node | undefined;
  const ok =
    node.type === 'SELECT_NODE' &&
    ctes?.length === 1 &&
    ctes[0]?.key === EVENTS_RELATION &&
    from?.type === 'SUBQUERY' &&
    inner !== undefined &&
    sameTree(statement.tree, inner, false);
  if (!ok) throw refuse('the statement could not be isolated to the events relation');
}

/** DuckDB's largest ARRAY type size (INTEGER[100000]); its binder refuses a larger one. */
const DUCKDB_ARRAY_SIZE_MAX = 100_000;

/**
 * Why json_serialize_sql could not parse a statement: a syntax error; a statement that is no
 * SELECT ("not implemented"); a type its parser leaves to the binder, which it cannot serialize
 * (an ARRAY size out of DuckDB's range: INT[0], INT[100000000]; an ENUM spelled inside a nested
 * type: ENUM('a')[], STRUCT(s ENUM('a')); DuckDB's message is the same for both, so both are
 * named); else DuckDB's own message.
 */
function parseRefusal(parsed: Node): string {
  const message = String(parsed.error_message ?? 'cannot parse');
  switch (parsed.error_type) {
    case 'parser':
      return `syntax error: ${message}`;
    case 'not implemented':
      return 'only a read-only SELECT statement is allowed';
    case 'serialization':
      return (
        `an ARRAY type's size is 1 to ${DUCKDB_ARRAY_SIZE_MAX} (INTEGER[3]), and an ENUM type ` +
        'cannot be spelled inside a LIST, ARRAY, STRUCT, MAP or UNION type (cast each value ' +
        "instead: [x::ENUM('a', 'b')]); a type of this statement cannot be read before " +
        `binding (DuckDB: ${message})`
      );
    default:
      return `this statement cannot be parsed (DuckDB: ${String(parsed.error_type)}: ${message})`;
  }
}

/** The parsed node of the only statement of `sql`. */
async function parseOne(connection: DuckDBConnection, sql: string): Promise<Node> {
  const reader = await connection.runAndReadAll(
    'SELECT json_serialize_sql($sql::VARCHAR) AS tree',
    {
      sql,
    },
  );
  const parsed = treeOf(String(reader.getRows()[0]?.[0]));
  if (parsed.error === true) throw refuse(parseRefusal(parsed));
  const statements = parsed.statements as Node[];
  if (statements.length !== 1) {
    throw refuse(`exactly one SELECT statement is allowed (got ${statements.length})`);
  }
  return statements[0]?.node as Node;
}

/**
 * The parse tree DuckDB serialized. A number literal beyond a double (`1e400`) is written as a
 * bare `Infinity` or `NaN`, which is not JSON: such a statement is refused, not a 500.
 */
function treeOf(text: string): Node {
  try {
    return JSON.parse(text) as Node;
  } catch {
    throw refuse('a number in the statement is out of range');
  }
}

function walk(value: Json, scope: ReadonlySet<string>, findings: Findings): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, scope, findings);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if ('cte_map' in value && 'modifiers' in value) {
    walkQueryNode(value, scope, findings);
    return;
  }
  if ('class' in value) checkExpression(value, findings);
  else if ('sample' in value && 'alias' in value && 'type' in value) {
    checkTableRef(value, scope, findings);
  }
  if ('function_name' in value) checkFunction(value, findings);
  for (const child of Object.values(value)) walk(child, scope, findings);
}

/** A query node: its CTEs are in scope for its body; each CTE sees those before it. */
function walkQueryNode(node: Node, scope: ReadonlySet<string>, findings: Findings): void {
  if (!QUERY_NODES.has(String(node.type))) findings.problems.push(`${node.type} is not allowed`);
  const entries = (((node.cte_map as Node | null)?.map ?? []) as Node[]).map((entry) => ({
    name: asciiLower(String(entry.key)),
    body: entry.value ?? null,
  }));
  const visible = new Set(scope);
  for (const { name, body } of entries) {
    if (!CTE_NAME.test(name) || name === EVENTS_RELATION) {
      findings.problems.push(
        `a CTE must be named with a plain identifier other than events ("${name}")`,
      );
    }
    findings.ctes.add(name);
    const query = ((body as Node | null)?.query as Node | undefined)?.node as Node | undefined;
    const own = query?.type === 'RECURSIVE_CTE_NODE' ? new Set([...visible, name]) : visible;
    walk(body, new Set(own), findings);
    visible.add(name);
  }
  for (const [key, child] of Object.entries(node)) {
    if (key !== 'cte_map') walk(child, visible, findings);
  }
}

function checkExpression(node: Node, findings: Findings): void {
  const kind = String(node.class);
  if (!EXPRESSIONS.has(kind)) findings.problems.push(`${kind} expressions are not allowed`);
  if (kind === 'PARAMETER') findings.params.add(String(node.identifier));
}

function checkTableRef(node: Node, scope: ReadonlySet<string>, findings: Findings): void {
  const type = String(node.type);
  if (type === 'TABLE_FUNCTION') {
    const fn = (node.function as Node | null)?.function_name ?? 'a table function';
    findings.problems.push(`table functions are not allowed (${fn}); query the events relation`);
    return;
  }
  if (type === 'SHOW_REF') {
    // DuckDB reads DESCRIBE x as SELECT * FROM (its SHOW_REF): named so, the refusal spoke of a
    // FROM the statement never wrote.
    findings.problems.push(
      'DESCRIBE, SHOW and SUMMARIZE are not allowed; select from events (its columns are an ' +
        "event's stored fields, as GET /api/v1/events/{event_id} shows them)",
    );
    return;
  }
  if (!TABLE_REFS.has(type)) {
    findings.problems.push(`${type} is not allowed in FROM`);
    return;
  }
  if (type !== 'BASE_TABLE') return;
  const name = asciiLower(String(node.table_name));
  const qualified = node.schema_name !== '' || node.catalog_name !== '';
  if (
    qualified ||
    (node.at_clause ?? null) !== null ||
    (name !== EVENTS_RELATION && !scope.has(name))
  ) {
    findings.problems.push(
      `unknown table "${node.table_name}": only events and the statement's own CTEs can be read`,
    );
  }
}

function checkFunction(node: Node, findings: Findings): void {
  const name = String(node.function_name);
  // The parser itself writes `main` as the schema of list_value, struct_pack, date_part, ….
  const schema = node.schema ?? '';
  const qualified = (schema !== '' && schema !== 'main') || (node.catalog ?? '') !== '';
  if (qualified || !isAllowedFunction(name)) {
    findings.problems.push(`function ${name} is not allowed`);
  }
}

/** Parameters must be positional and numbered 1 … N without gaps. */
function checkParams(ids: Set<string>): number {
  const numbers = [...ids].map(Number);
  const ok = numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= ids.size);
  if (!ok) throw refuse('parameters must be positional: ? or $1, $2, … without gaps');
  return ids.size;
}

/** A CTE named like a table or view of the database could reach it from out of scope. */
async function checkCteNames(connection: DuckDBConnection, names: Set<string>): Promise<void> {
  if (names.size === 0) return;
  const reader = await connection.runAndReadAll(
    `SELECT DISTINCT lower(name) FROM (
       SELECT table_name AS name FROM duckdb_tables()
       UNION ALL SELECT view_name FROM duckdb_views()
     ) WHERE list_contains($names, lower(name))`,
    { names: listValue([...names]) },
  );
  const taken = reader.getRows().map((r) => String(r[0]));
  if (taken.length > 0) {
    throw refuse(`CTE name ${taken.map((n) => `"${n}"`).join(', ')} is reserved; choose another`);
  }
}

/**
 * Whether two syntax trees are equal but for `query_location` (which moves when text is
 * wrapped) and, with `renamed`, parameters of `a` named as nameParameters names them in `b`.
 * Compared in place, without copying or printing either: a statement near the size limit has
 * a tree of megabytes, and this runs on the event loop every request shares.
 */
function sameTree(a: Json, b: Json, renamed: boolean): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameTree(item, b[i] as Json, renamed));
  }
  const keys = Object.keys(a).filter((key) => key !== 'query_location');
  const keysOfB = Object.keys(b).filter((key) => key !== 'query_location');
  if (keys.length !== keysOfB.length) return false;
  return keys.every((key) => {
    if (!Object.hasOwn(b, key)) return false;
    const value = a[key] as Json;
    if (renamed && key === 'identifier' && a.class === 'PARAMETER') {
      return b[key] === `${SQL_PARAM_PREFIX}${value}`;
    }
    return sameTree(value, b[key] as Json, renamed);
  });
}

function refuse(message: string): AppError {
  return new AppError('bad_request', `sql: ${message}`);
}
