// clickhouse-round.ts: ClickHouse's round(x, n) on a Float64 (x × 10^n, a tie to even, ÷ 10^n),
// in TypeScript and in DuckDB's SQL, which must agree on every value, ties and near-ties alike.

import { expect, test } from 'bun:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { roundHalfEvenSql } from '../../src/query/clickhouse-round.ts';
import { roundHalfEven } from '../../src/query/index.ts';

test('a tie to the even neighbour, after scaling as ClickHouse does', () => {
  expect(roundHalfEven(12.5)).toBe(12);
  expect(roundHalfEven(13.5)).toBe(14);
  expect(roundHalfEven(-2.5)).toBe(-2);
  expect(roundHalfEven(2.4)).toBe(2);
  expect(roundHalfEven(2.125, 2)).toBe(2.12);
  expect(roundHalfEven(6.25, 1)).toBe(6.2);
  expect(roundHalfEven(6.35, 1)).toBe(6.4); // 6.35 × 10 is 63.5 in doubles: a tie
  // 2.05 × 10 is 20.5 in doubles, a tie; 0.545 × 100 is 54.50000000000001, none.
  expect(roundHalfEven(2.05, 1)).toBe(2);
  expect(roundHalfEven(0.545, 2)).toBe(0.55);
  // 0.285 × 100 is 28.499999999999996: no tie, down.
  expect(roundHalfEven(0.285, 2)).toBe(0.28);
  expect(roundHalfEven((1 / 32) * 100, 2)).toBe(3.12);
});

test('the SQL answers what the TypeScript does, over every ratio of small counts', async () => {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const sql = (digits: number) => `${roundHalfEvenSql('a / b * 100', digits)} AS r${digits}`;
    const reader = await connection.runAndReadAll(
      `SELECT a, b, ${sql(0)}, ${sql(1)}, ${sql(2)}
        FROM range(0, 41) AS x(a), range(1, 41) AS y(b) WHERE a <= b ORDER BY a, b`,
    );
    const rows = reader.getRowObjects();
    expect(rows.length).toBe(860);
    for (const row of rows) {
      const ratio = (Number(row.a) / Number(row.b)) * 100;
      expect([row.r0, row.r1, row.r2]).toEqual([0, 1, 2].map((d) => roundHalfEven(ratio, d)));
    }
    // Where DuckDB's round_even is not ClickHouse's round: as the TypeScript, and NULL stays.
    const edges = await connection.runAndReadAll(
      `SELECT ${roundHalfEvenSql('CAST(2.05 AS DOUBLE)', 1)} AS a,
        ${roundHalfEvenSql('CAST(0.545 AS DOUBLE)', 2)} AS b,
        ${roundHalfEvenSql('CAST(NULL AS DOUBLE)')} AS c`,
    );
    expect(edges.getRowObjects()).toEqual([{ a: 2, b: 0.55, c: null }]);
  } finally {
    connection.closeSync();
    db.closeSync();
  }
});
