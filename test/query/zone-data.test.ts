// Tally buckets every read by the runtime's zone rules (Intl); a SQL statement's timezone()
// uses DuckDB's own zone data. README (SQL) names the zones where the two releases differ:
// this test fails once an upgrade of either brings them together, so the README is corrected.

import { expect, test } from 'bun:test';
import { DuckDBInstance } from '@duckdb/node-api';

const AT = '2026-12-01T12:00:00Z';

function runtimeClock(tz: string): string {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return format.format(new Date(AT));
}

test("DuckDB's zone data and the runtime's differ for Vancouver and Edmonton, as README says", async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const [tz, runtime, duckdb] of [
      ['America/Vancouver', '04:00', '05:00'],
      ['America/Edmonton', '05:00', '06:00'],
      ['Europe/Berlin', '13:00', '13:00'], // where both agree, as for nearly every zone
    ] as const) {
      const reader = await connection.runAndReadAll(
        `SELECT strftime(timezone($1, $2::TIMESTAMPTZ), '%H:%M') AS clock`,
        [tz, AT],
      );
      expect([tz, runtimeClock(tz), reader.getRowObjects()[0]?.clock]).toEqual([
        tz,
        runtime,
        duckdb,
      ]);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
