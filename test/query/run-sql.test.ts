import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AppError, MiB } from '../../src/core/index.ts';
import { queryLimits, runSql, type SqlParamValue, type SqlResult } from '../../src/query/index.ts';
import { readsWaiting, withSnapshot } from '../../src/query/read.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { sqlChildren } from '../helpers/sql-children.ts';

const T = Date.parse('2026-04-01T12:00:00Z');

let source: MemorySource;
beforeAll(async () => {
  // The production settings: files only under the segment directory, configuration locked.
  source = await createMemorySource({ lockDown: true });
  await source.add([
    makeEvent({ timestamp: T, path: '/a', user_id: 'u1', properties: { plan: 'pro' } }),
    makeEvent({ timestamp: T + 1000, path: '/b', user_id: 'u2', value: 2.5 }),
    makeEvent({ timestamp: T, tenant: 'globex', path: '/secret', user_id: 'x' }),
  ]);
  await source.flush();
  await source.add([makeEvent({ timestamp: T + 2000, path: '/a', name: 'signup', user_id: 'u1' })]);
});
afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const run = (sql: string, params: SqlParamValue[] = [], limits = {}) =>
  runSql(source, 'acme', { sql, params, timeoutMs: 5_000, rowsMax: 100, ...limits });

async function refusal(sql: string, params: SqlParamValue[] = []): Promise<AppError> {
  try {
    await run(sql, params);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`expected ${sql} to be refused`);
}

const rowsOf = (result: SqlResult) => result.rows;

/** A statement that runs for hours unless stopped. */
const SLOW_SQL = `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1e12)
                  SELECT count(*) FROM r`;

/** SQL children alive before this file's statements (another file's spares, say). */
let childrenBefore = new Set<number>();
beforeAll(() => {
  childrenBefore = new Set(sqlChildren());
});

/** This file's SQL children: those of runSql's processes, started after `childrenBefore`. */
const ownChildren = () => sqlChildren().filter((pid) => !childrenBefore.has(pid));

/** Waits until at most the spare child is left: the stopped statement's process is gone. */
async function onlySpareLeft(): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (ownChildren().length > 1) {
    if (performance.now() > deadline) throw new Error(`children left: ${ownChildren()}`);
    await Bun.sleep(20);
  }
}

describe('runSql', () => {
  test('answers a SELECT over the tenant`s events with columns, rows and counts', async () => {
    const result = await run(
      'SELECT path, count(*) AS n FROM events GROUP BY path ORDER BY n DESC, path',
    );
    expect(result).toMatchObject({
      columns: [
        { name: 'path', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
      ],
      rows: [
        ['/a', 2],
        ['/b', 1],
      ],
      row_count: 2,
      truncated: false,
    });
    expect(result.elapsed_ms).toBeGreaterThan(0);
  });

  test('events holds only the caller`s tenant, across segments and the hot table', async () => {
    expect(rowsOf(await run('SELECT DISTINCT tenant FROM events'))).toEqual([['acme']]);
    expect(rowsOf(await run("SELECT count(*) FROM events WHERE tenant = 'globex'"))).toEqual([[0]]);
    expect(rowsOf(await run('SELECT count(*) FROM events WHERE tenant = ?', ['globex']))).toEqual([
      [0],
    ]);
    const columns = (await run('SELECT * FROM events LIMIT 1')).columns.map((c) => c.name);
    expect(columns).toContain('visitor_id');
    expect(columns).not.toContain('seq');
    const globex = await runSql(source, 'globex', {
      sql: 'SELECT path FROM events',
      params: [],
      timeoutMs: 5_000,
      rowsMax: 10,
    });
    expect(globex.rows).toEqual([['/secret']]);
  });

  test('binds ? and $N parameters, and leaves ? inside strings alone', async () => {
    expect(
      rowsOf(await run('SELECT count(*) FROM events WHERE path = ? AND user_id = ?', ['/a', 'u1'])),
    ).toEqual([[2]]);
    expect(rowsOf(await run("SELECT '?' AS q, $2 AS b, $1 AS a, $1 + 1 AS c", [41, 'x']))).toEqual([
      ['?', 'x', 41, 42],
    ]);
    expect(rowsOf(await run('SELECT path FROM events ORDER BY timestamp LIMIT ?', [1]))).toEqual([
      ['/a'],
    ]);
    expect(
      rowsOf(await run('SELECT E\'it\\\'s ?\', $$a ? b$$, "?" FROM (SELECT 1 AS "?")')),
    ).toEqual([["it's ?", 'a ? b', 1]]);
    // A line comment ends at a carriage return too, as DuckDB's lexer ends it (CR line endings):
    // the parameters after it are the statement's.
    for (const sql of [
      'SELECT path FROM events -- one\rWHERE path = ? ORDER BY 1',
      'SELECT path FROM events -- one\rWHERE path = $1 ORDER BY 1 -- two\r;',
    ]) {
      expect([sql, rowsOf(await run(sql, ['/a']))]).toEqual([sql, [['/a'], ['/a']]]);
    }
    expect(rowsOf(await run('SELECT ? IS NULL, ?, ?', [null, true, 1.5]))).toEqual([
      [true, true, 1.5],
    ]);
    // Columns named after their expression say $1 as the statement does, never the renamed
    // parameter; a statement that spells the prefix keeps its own names.
    const named = await run('SELECT ?, ?::VARCHAR, $1 + 1', [1, 2]);
    expect(named.columns.map((c) => c.name)).toEqual(['$1', 'CAST($2 AS VARCHAR)', '($1 + 1)']);
    const own = await run('SELECT 1 AS "$sql_param_7", ? AS p', [1]);
    expect(own.columns.map((c) => c.name)).toEqual(['$sql_param_7', 'p']);
    // Numbers past a safe integer bind as DOUBLE, never as an overflowing BIGINT.
    expect(rowsOf(await run('SELECT ? > 1e299, ? * 2', [1e300, 2 ** 63]))).toEqual([
      [true, 2 ** 64],
    ]);
  });

  test('a STRUCT of unnamed fields is a 400 asking for names, never a lossy object', async () => {
    for (const sql of ['SELECT ROW(1, 2) AS r', 'SELECT [ROW(1, 2)] AS l']) {
      const refused = await refusal(sql);
      expect(refused.status).toBe(400);
      expect(refused.message).toContain('holds a STRUCT with unnamed fields');
    }
    expect(rowsOf(await run("SELECT {'a': 1, 'b': 2} AS s"))).toEqual([[{ a: 1, b: 2 }]]);
  });

  test('a STRUCT field or UNION member named __proto__ is a 400 asking for another name', async () => {
    // The driver reads a STRUCT into a plain object, where the field set the object's prototype
    // instead: the field was missing from the answer ({'__proto__': 1, 'a': 2} read {"a":2}),
    // and a STRUCT or a UNION member under that name failed the statement with a 500.
    for (const sql of [
      "SELECT {'__proto__': 1, 'a': 2} AS s",
      "SELECT [{'__proto__': 'v'}] AS l",
      "SELECT {'__proto__': {'x': 1}, 'a': 2} AS s",
      "SELECT {'k': {'__proto__': NULL}} AS s",
      "SELECT MAP {'k': {'__proto__': 1}} AS m",
      'SELECT union_value(__proto__ := 1) AS u',
    ]) {
      const refused = await refusal(sql);
      expect([sql, refused.status]).toEqual([sql, 400]);
      expect([sql, refused.message]).toEqual([
        sql,
        `sql: column ${sql.split(' AS ')[1]} holds a STRUCT field or UNION member named ` +
          "__proto__, which a JSON object of the answer cannot carry; rename it ({'proto': 1})",
      ]);
    }
    // Other names of Object's prototype are fields like any other; so are column names.
    expect(
      rowsOf(await run(`SELECT {'constructor': 1, 'toString': 2} AS s, 3 AS "__proto__"`)),
    ).toEqual([[{ constructor: 1, toString: 2 }, 3]]);
    const columns = (await run('SELECT 1 AS "__proto__", 2 AS "constructor"')).columns;
    expect(columns.map((c) => c.name)).toEqual(['__proto__', 'constructor']);
    // A JSON value and a MAP carry the key.
    expect(rowsOf(await run(`SELECT '{"__proto__": 1}'::JSON AS j`))).toEqual([
      [JSON.parse('{"__proto__": 1}')],
    ]);
  });

  test('a VARIANT column is a 400 asking for JSON: its values lose fields or fail', async () => {
    // The driver reads a VARIANT's STRUCT into a plain object as well, but its field names are
    // in the values, not the column's type: {'__proto__': 1, 'b': 2}::VARIANT read {"b":2},
    // and a list or struct under that name failed the statement with a 500 (type ANY).
    for (const sql of [
      `SELECT struct_pack("__proto__" := 1, b := 2)::VARIANT AS v`,
      `SELECT struct_pack("__proto__" := [1, 2])::VARIANT AS v`,
      'SELECT [1::VARIANT] AS v',
      `SELECT {'x': 'a'::VARIANT} AS v`,
      'SELECT MAP {1: 1::VARIANT} AS v',
    ]) {
      const refused = await refusal(sql);
      expect([sql, refused.status, refused.message]).toEqual([
        sql,
        400,
        'sql: column v holds a VARIANT, whose values the answer cannot carry whole; ' +
          'cast it to JSON (x::JSON)',
      ]);
    }
    const cast = `SELECT struct_pack("__proto__" := [1, 2], b := 2)::VARIANT::JSON AS j`;
    expect(rowsOf(await run(cast))).toEqual([[JSON.parse('{"__proto__": [1, 2], "b": 2}')]]);
  });

  test('a number literal beyond a double is a 400, not a 500', async () => {
    const refused = await refusal('SELECT 1e400 AS big');
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('out of range');
  });

  test('parameter mistakes are 400s', async () => {
    expect((await refusal('SELECT ? AS a', [])).message).toBe(
      'sql: the statement has 1 parameter(s) but 0 value(s) were given',
    );
    expect((await refusal('SELECT 1', ['extra'])).status).toBe(400);
    expect((await refusal('SELECT $tenant')).message).toContain('parameters must be positional');
    expect((await refusal('SELECT $2', [1, 2])).message).toContain('without gaps');
  });

  // Each was 'the parameters of this statement could not be bound', naming none of them; one
  // past 2^63 DuckDB's 'Parameter numbers cannot be negative'.
  test('a parameter written as none can be is a 400 naming it and the rule', async () => {
    const refusals: [string, string][] = [
      ['SELECT $0', 'parameters start at $1 ($0 names none)'],
      ['SELECT $1, $00', 'parameters start at $1 ($00 names none)'],
      ['SELECT ?0', 'parameters start at $1 (?0 names none)'],
      ['SELECT $01', 'write parameter $01 as $1'],
      ['SELECT ?1', 'write parameter ?1 as $1'],
      ['SELECT $101', 'parameter $101 is past $100: a statement takes 100 at most'],
      [
        'SELECT $99999999999999999999',
        'parameter $99999999999999999999 is past $100: a statement takes 100 at most',
      ],
    ];
    for (const [sql, msg] of refusals) {
      const refused = await refusal(sql, [1]);
      expect([sql, refused.status, refused.message]).toEqual([sql, 400, `sql: ${msg}`]);
    }
    // In a string, a dollar-quoted string or a comment, such text is no parameter.
    const run1 = await run("SELECT '$0' AS a, $$ ?1 $$ AS b, ? AS c -- $0", ['x']);
    expect(rowsOf(run1)).toEqual([['$0', ' ?1 ', 'x']]);
  });

  test('converts values to JSON: exact integers, ISO instants, parsed JSON, nested types', async () => {
    const result = await run(
      `SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 12.50::DECIMAL(10,2) AS dec,
         TIMESTAMPTZ '2026-04-01 12:00:00.123456+00' AS ts, TIMESTAMP '2026-04-01 12:00:00' AS naive,
         DATE '2026-04-01' AS d, [1, 2] AS l, {'k': 'v'} AS s, NULL AS n,
         (SELECT properties FROM events WHERE user_id = 'u1' AND name = 'page_view') AS props`,
    );
    expect(result.rows).toEqual([
      [
        '9007199254740993',
        42,
        12.5,
        '2026-04-01T12:00:00.123456Z',
        '2026-04-01T12:00:00.000',
        '2026-04-01',
        [1, 2],
        { k: 'v' },
        null,
        { plan: 'pro' },
      ],
    ]);
    expect(result.columns.map((c) => c.type)).toEqual([
      'BIGINT',
      'BIGINT',
      'DECIMAL(10,2)',
      'TIMESTAMP WITH TIME ZONE',
      'TIMESTAMP',
      'DATE',
      'INTEGER[]',
      'STRUCT("k" VARCHAR)',
      'INTEGER',
      'JSON',
    ]);
  });

  test('a DECIMAL is a number whenever JSON writes its value exactly, however small', async () => {
    // Compared as written, 0.000000100 (DECIMAL(10,9)) and JavaScript's 1e-7 differed: values
    // below 1e-6 were strings beside numbers in the same column.
    const result = await run(
      `SELECT x::DECIMAL(38,30) AS d
       FROM (VALUES (0.5), (0.0000001), (0.000000000000000000015), (0.1000)) t(x)`,
    );
    expect(result.rows).toEqual([[0.5], [1e-7], [1.5e-20], [0.1]]);
    // Inexact ones stay strings: more digits than a double holds.
    expect(rowsOf(await run(`SELECT '0.12345678901234567890'::DECIMAL(38,20) AS d`))).toEqual([
      ['0.12345678901234567890'],
    ]);
  });

  test('a JSON value nested in a LIST, ARRAY, STRUCT, MAP or UNION is named JSON in its type', async () => {
    // Its values are parsed as JSON at any depth; the type was named by its base type
    // (VARCHAR[], STRUCT("p" VARCHAR)), as if the objects answered were strings.
    const result = await run(
      `SELECT [j] AS l, [j, j]::JSON[2] AS a, {'p': j, 'q': [j]} AS s, MAP {'k': j} AS m,
         union_value(x := j) AS u
       FROM (SELECT properties AS j FROM events WHERE name = 'page_view' AND user_id = 'u1')`,
    );
    expect(result.columns.map((c) => c.type)).toEqual([
      'JSON[]',
      'JSON[2]',
      'STRUCT("p" JSON, "q" JSON[])',
      'MAP(VARCHAR, JSON)',
      'UNION("x" JSON)',
    ]);
    const plan = { plan: 'pro' };
    expect(result.rows).toEqual([
      [
        [plan],
        [plan, plan],
        { p: plan, q: [plan] },
        [{ key: 'k', value: plan }],
        { tag: 'x', value: plan },
      ],
    ]);
  });

  test('integer parameters are BIGINT, other numbers DOUBLE', async () => {
    const result = await run('SELECT typeof(?) AS a, typeof(?) AS b, typeof(?) AS c', [
      1,
      0.5,
      2 ** 63,
    ]);
    expect(result.rows).toEqual([['BIGINT', 'DOUBLE', 'DOUBLE']]);
  });

  test('instants at the edges: infinities, expanded years, nanoseconds', async () => {
    const result = await run(
      `SELECT 'infinity'::TIMESTAMP AS inf, '-infinity'::TIMESTAMPTZ AS ninf,
         'infinity'::DATE AS dinf, TIMESTAMP '294247-01-10 04:00:54.775806' AS last,
         TIMESTAMPTZ '0001-01-01 00:00:00+00' - INTERVAL 1 DAY AS bc,
         '2026-04-01 12:00:00.123456789'::TIMESTAMP_NS AS ns,
         DATE '0044-03-15 (BC)' AS ides, DATE '10000-01-01' AS far`,
    );
    expect(result.rows).toEqual([
      [
        'infinity',
        '-infinity',
        'infinity',
        '+294247-01-10T04:00:54.775806',
        '0000-12-31T00:00:00.000Z',
        '2026-04-01T12:00:00.123456789',
        '-000043-03-15',
        '+010000-01-01',
      ],
    ]);
  });

  test('CTEs, recursion, windows, set operations, trailing semicolons and comments', async () => {
    const sql = `-- daily paths
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3),
      ranked AS (
        SELECT path, row_number() OVER (ORDER BY timestamp DESC) AS r FROM events
      )
      SELECT 'n' AS kind, count(*) AS v FROM n
      UNION ALL SELECT 'top', r FROM ranked WHERE path = '/b'
      ORDER BY kind; /* done */ ;`;
    expect(rowsOf(await run(sql))).toEqual([
      ['n', 3],
      ['top', 2],
    ]);
  });

  test('empty statements before it are skipped, as DuckDB does, not a syntax error', async () => {
    // Left in, the `;` made the wrapped statement a syntax error at a `;` the user never
    // misplaced (DuckDB itself runs `;SELECT 1`).
    for (const sql of [
      ';SELECT 1 AS one',
      ' ; ;\n SELECT 1 AS one ; ;',
      '/* a */ ; -- b\n;SELECT ?',
    ]) {
      const params = sql.includes('?') ? [1] : [];
      expect([sql, rowsOf(await run(sql, params))]).toEqual([sql, [[1]]]);
    }
    for (const sql of [';', ' ; ; ']) {
      expect((await refusal(sql)).message).toBe(
        'sql: exactly one SELECT statement is allowed (got 0)',
      );
    }
    expect((await refusal(';SELECT 1; SELECT 2')).message).toBe(
      'sql: exactly one SELECT statement is allowed (got 2)',
    );
  });

  test('stops at the row limit with truncated: true, keeping the statement`s order', async () => {
    const result = await run('SELECT path FROM events ORDER BY timestamp DESC', [], { rowsMax: 2 });
    expect(result).toMatchObject({ rows: [['/a'], ['/b']], row_count: 2, truncated: true });
  });

  test('a statement error is a 400 with DuckDB`s first line only', async () => {
    const error = await refusal('SELECT nope FROM events');
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'sql: Binder Error: Referenced column "nope" not found in FROM clause!',
    );
    expect((await refusal("SELECT 'x'::INTEGER")).message).toStartWith('sql: Conversion Error:');
    expect((await refusal('SELEC 1')).message).toStartWith('sql: syntax error:');
  });

  test('an ARRAY type of a size DuckDB refuses is a 400 saying so, not "read-only SELECT"', async () => {
    // DuckDB's parser leaves such a size to its binder, and cannot serialize the statement for
    // the guard: the refusal said only a read-only SELECT was allowed, about a SELECT.
    for (const sql of [
      'SELECT [1]::INT[100000000] AS a',
      'SELECT CAST(NULL AS INT[0]) AS a',
      "SELECT {'a': NULL}::STRUCT(a INT[100001]) AS s",
    ]) {
      const refused = await refusal(sql);
      expect([sql, refused.status]).toEqual([sql, 400]);
      expect(refused.message).not.toContain('read-only');
      expect(refused.message).toStartWith("sql: an ARRAY type's size is 1 to 100000");
      expect(refused.message).toContain('Cannot serialize non-constant type parameter');
    }
    expect(rowsOf(await run('SELECT [1, 2]::INT[2] AS a, NULL::INT[100] AS b'))).toEqual([
      [[1, 2], null],
    ]);
    // A statement that is no SELECT still reads so.
    expect((await refusal('CREATE TABLE t (a INT)')).message).toBe(
      'sql: only a read-only SELECT statement is allowed',
    );
  });

  test('an ENUM spelled inside a nested type is refused naming the ENUM, not only ARRAY sizes', async () => {
    // DuckDB cannot serialize such a type for the guard either; its refusal spoke only of an
    // ARRAY type's size, to a statement with no ARRAY type in it.
    for (const sql of [
      "SELECT ['a']::ENUM('a', 'b')[] AS l",
      "SELECT NULL::STRUCT(s ENUM('a')) AS s",
      "SELECT NULL::MAP(ENUM('a'), INT) AS m",
    ]) {
      const refused = await refusal(sql);
      expect([sql, refused.status]).toEqual([sql, 400]);
      expect(refused.message).toContain(
        'an ENUM type cannot be spelled inside a LIST, ARRAY, STRUCT, MAP or UNION type',
      );
    }
    // The way the message shows: each value cast, the nested type inferred.
    expect(rowsOf(await run("SELECT ['a'::ENUM('a', 'b')] AS l"))).toEqual([[['a']]]);
  });

  test('a NUL character in a statement is refused saying so, not as a syntax error', async () => {
    // DuckDB parses a statement as a C string, so the text after a NUL was lost: 'a\0b' was
    // "unterminated quoted string", a statement ending in one "syntax error at end of input".
    for (const sql of [
      "SELECT 'a\u0000b' AS x",
      'SELECT 1 AS one\u0000',
      'SELECT 1 AS one -- \u0000',
    ]) {
      const refused = await refusal(sql);
      expect([sql, refused.status]).toEqual([sql, 400]);
      expect(refused.message).toBe(
        'sql: the statement holds a NUL character (\\u0000), which DuckDB reads as its end; ' +
          'write chr(0) for one in a value',
      );
    }
    expect(rowsOf(await run("SELECT length('a' || chr(0) || 'b') AS n"))).toEqual([[3]]);
  });

  test('an error message is cut short: a statement cannot make the server carry its values', async () => {
    // DuckDB's message holds the value the statement built (error(x), a failed cast of x):
    // uncut, 50 MB of it crossed to the server and came back as the 400's detail.
    // A refusal naming a column quotes its name, which may be most of the statement.
    const long = `"${'c'.repeat(90_000)}"`;
    for (const sql of [
      "SELECT error(repeat('x', 1000000)) AS e",
      "SELECT CAST(repeat('x', 1000000) AS INTEGER) AS n",
      `SELECT ROW(1, 2) AS ${long}`,
      `SELECT {'__proto__': 1} AS ${long}`,
      `SELECT 1::VARIANT AS ${long}`,
    ]) {
      const error = await refusal(sql);
      expect(error.status).toBe(400);
      expect(error.message).toStartWith('sql: ');
      expect(error.message).toEndWith('…');
      expect(error.message.length).toBeLessThanOrEqual(queryLimits.sqlMessageCharsMax + 5);
    }
  });

  test('a value nested past the depth limit is a 400, not a 500', async () => {
    // JSON of 100,000 levels, built by the statement: turning it into the answer overflowed
    // the stack (JSON.stringify), and the statement got a 500 logged as a server error.
    const nested = (levels: number) =>
      `SELECT (repeat('[', ${levels}) || repeat(']', ${levels}))::JSON AS j`;
    for (const levels of [100_000, queryLimits.sqlValueDepthMax + 1]) {
      const error = await refusal(nested(levels));
      expect([error.status, error.message]).toEqual([
        400,
        `sql: row 1 holds a value nested more than ${queryLimits.sqlValueDepthMax} levels ` +
          'deep, which the answer cannot carry',
      ]);
    }
    const within = await run(nested(queryLimits.sqlValueDepthMax));
    expect(JSON.stringify(within.rows[0]?.[0])).toHaveLength(2 * queryLimits.sqlValueDepthMax);
  });

  test('a statement running past the time limit is interrupted: 408', async () => {
    const slow = runSql(source, 'acme', {
      sql: `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1e12)
            SELECT count(*) FROM r`,
      params: [],
      timeoutMs: 200,
      rowsMax: 10,
    });
    await expect(slow).rejects.toMatchObject({
      code: 'query_timeout',
      status: 408,
      message: 'the query ran longer than 200 ms and was stopped',
    });
    expect(source.openSnapshots).toBe(0);
    expect(rowsOf(await run('SELECT count(*) FROM events'))).toEqual([[3]]);
  });

  test('one call DuckDB cannot interrupt is stopped at the time limit all the same', async () => {
    // Each builds one value of billions of elements in a single function call: DuckDB checks
    // for interrupts only between chunks, so only the statement's own process can be stopped.
    for (const sql of [
      'SELECT len(list_resize([1::TINYINT], 1000000000)) AS n',
      "SELECT len(lpad('x', 2147483647, 'y')) AS n",
    ]) {
      await expect(run(sql, [], { timeoutMs: 300 })).rejects.toMatchObject({ status: 408 });
      await onlySpareLeft(); // the process building the value was killed
    }
    expect(source.openSnapshots).toBe(0);
    expect(rowsOf(await run('SELECT count(*) FROM events'))).toEqual([[3]]);
  });

  test('a statement past its memory limit is stopped: 400', async () => {
    // 300M BIGINTs are 2.4 GB, over the 1 GiB a statement's process may hold.
    const big = run('SELECT len(list_resize([1::BIGINT], 300000000)) AS n', [], {
      timeoutMs: 60_000,
    });
    await expect(big).rejects.toMatchObject({
      status: 400,
      message: `sql: the query used more than ${queryLimits.sqlProcessBytesMax / MiB} MiB of memory and was stopped`,
    });
    await onlySpareLeft();
    expect(rowsOf(await run('SELECT count(*) FROM events'))).toEqual([[3]]);
  });

  test('a statement whose client went away is stopped, its process killed', async () => {
    const controller = new AbortController();
    const running = run(SLOW_SQL, [], {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 300);
    // 499 (client_closed): logged as nginx does, never sent, no server error.
    await expect(running).rejects.toMatchObject({ status: 499, code: 'client_closed' });
    await onlySpareLeft();
  });

  test('a statement whose client leaves while it waits for a read place exports nothing', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from({ length: queryLimits.tenantReadsRunningMax }, () =>
      withSnapshot(source, 'acme', {}, undefined, () => released),
    );
    const snapshot = source.snapshot.bind(source);
    let snapshots = 0;
    source.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot(tenant, range);
    };
    try {
      const client = new AbortController();
      let outcome: unknown = 'pending';
      run('SELECT count(*) FROM events', [], { signal: client.signal }).then(
        () => {
          outcome = 'answered';
        },
        (error: unknown) => {
          outcome = error;
        },
      );
      while (readsWaiting(source, 'acme') === 0) await Bun.sleep(5);
      client.abort();
      await Bun.sleep(5); // a turn: leaving the queue takes no time of its own
      expect(outcome).toMatchObject({ status: 499, code: 'client_closed' });
      expect(readsWaiting(source, 'acme')).toBe(0);
      release();
      await Promise.all(held);
      expect(snapshots).toBe(held.length); // the held reads' only
    } finally {
      release();
      source.snapshot = snapshot;
    }
    // Its SQL place was given back: the tenant's whole share runs.
    const share = Array.from({ length: queryLimits.sqlTenantProcessesMax }, () =>
      run('SELECT count(*) FROM events'),
    );
    expect((await Promise.all(share)).map(rowsOf)).toEqual(Array(share.length).fill([[3]]));
  });

  test('past the bound a statement is refused at once, before its events are exported', async () => {
    const snapshot = source.snapshot.bind(source);
    let snapshots = 0;
    source.snapshot = (tenant, range) => {
      snapshots++;
      return snapshot(tenant, range);
    };
    try {
      // Every place is taken by tenants running their share each; a further tenant gets 503s.
      const { sqlProcessesMax, sqlTenantProcessesMax } = queryLimits;
      const running = ['acme', 'globex'];
      expect(running.length * sqlTenantProcessesMax).toBe(sqlProcessesMax);
      const extra = 3;
      const statements = [
        ...running.flatMap((tenant) => Array(sqlTenantProcessesMax).fill(tenant)),
        ...Array(extra).fill('latecomer'),
      ];
      const outcomes = await Promise.allSettled(
        statements.map((tenant) =>
          runSql(source, tenant, { sql: SLOW_SQL, params: [], timeoutMs: 1_000, rowsMax: 10 }),
        ),
      );
      const statuses = outcomes.map((o) => (o.status === 'rejected' ? o.reason.status : 200));
      expect(statuses.filter((s) => s === 503)).toHaveLength(extra);
      expect(statuses.filter((s) => s === 408)).toHaveLength(sqlProcessesMax);
      expect(snapshots).toBe(sqlProcessesMax); // the refused ones exported nothing
    } finally {
      source.snapshot = snapshot;
    }
    await onlySpareLeft();
  });

  test("one tenant's slow statements get 429s past its share; other tenants still run", async () => {
    const burst = queryLimits.sqlProcessesMax;
    const slow = Promise.allSettled(
      Array.from({ length: burst }, () => run(SLOW_SQL, [], { timeoutMs: 3_000 })),
    );
    // acme's share is taken synchronously, before the first statement awaits anything.
    const other = await runSql(source, 'globex', {
      sql: 'SELECT count(*) AS n FROM events',
      params: [],
      timeoutMs: 5_000,
      rowsMax: 10,
    });
    expect(other.rows).toEqual([[1]]);
    const refused = (await slow).flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    const overloaded = refused.filter((e) => e.code === 'tenant_overloaded');
    expect(overloaded).toHaveLength(burst - queryLimits.sqlTenantProcessesMax);
    expect(overloaded[0]).toMatchObject({
      status: 429,
      message: `${queryLimits.sqlTenantProcessesMax} SQL queries of this tenant are running (its limit); retry later`,
    });
    expect(refused.filter((e) => e.code === 'query_timeout')).toHaveLength(
      queryLimits.sqlTenantProcessesMax,
    );
    await onlySpareLeft();
  });

  test('rows past the result size limit are cut and the answer says truncated', async () => {
    // 3 rows of 10M characters each: past the 16M characters of JSON an answer may hold.
    const result = await run("SELECT repeat('x', 10000000) AS s FROM events", [], {
      timeoutMs: 30_000,
    });
    expect(result.truncated).toBe(true);
    expect(result.row_count).toBe(1);
    expect(queryLimits.sqlResultCharsMax).toBeLessThan(2 * 10_000_000);
  });

  test('statements run side by side, each in its own process', async () => {
    // Every place at once, taken by two tenants (acme has 3 events, globex 1), each its share.
    expect(2 * queryLimits.sqlTenantProcessesMax).toBe(queryLimits.sqlProcessesMax);
    const answers = await Promise.all(
      Array.from({ length: queryLimits.sqlProcessesMax }, (_, i) =>
        runSql(source, i % 2 === 0 ? 'acme' : 'globex', {
          sql: 'SELECT count(*) + ? AS n FROM events',
          params: [i],
          timeoutMs: 5_000,
          rowsMax: 10,
        }),
      ),
    );
    expect(answers.map((a) => a.rows[0]?.[0])).toEqual([3, 2, 5, 4]);
  });
});
