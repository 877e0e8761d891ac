// How getCohorts pairs each start with the actor's returns: only with returns that may count
// (at most `periods - 1` periods later), so an actor active every day of a year costs its
// starts times `periods`, not its 366 starts times its 366 returns. Checked on counts that cross
// the join's blocks of `periods` periods, and on the plan DuckDB makes of the statement.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type CohortOptions, type EventSource, getCohorts } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const DAY_MS = 86_400_000;
const FROM = Date.parse('2026-01-01T00:00:00Z');

const options = (periods: number, days: number): CohortOptions => ({
  startEvent: { name: 'visit' },
  returnEvent: { name: 'visit' },
  kind: 'recurring',
  by: 'visitor',
  period: 'day',
  tz: 'UTC',
  periods,
  fromMs: FROM,
  toMs: FROM + days * DAY_MS,
  nowMs: FROM + days * DAY_MS,
  filters: {},
});

const visit = (who: string, day: number) =>
  makeEvent({ tenant: 'acme', name: 'visit', visitor_id: who, timestamp: FROM + day * DAY_MS });

interface PlanNode {
  name: string;
  extra_info?: { Conditions?: string | string[] };
  children?: PlanNode[];
}

/** The conditions of every hash join in the plans of the statements `read` runs. */
async function hashJoinsOf(read: (source: EventSource) => Promise<unknown>): Promise<string[][]> {
  const joins: string[][] = [];
  const walk = (node: PlanNode) => {
    const conditions = node.extra_info?.Conditions;
    if (node.name === 'HASH_JOIN' && conditions !== undefined) joins.push([conditions].flat());
    for (const child of node.children ?? []) walk(child);
  };
  const explaining: EventSource = {
    async snapshot(tenant, range) {
      const snapshot = await source.snapshot(tenant, range);
      const connection = snapshot.connection;
      const explain: Pick<DuckDBConnection, 'runAndReadAll'> = {
        async runAndReadAll(sql, values, types) {
          const plan = await connection.runAndReadAll(
            `EXPLAIN (FORMAT json) ${sql}`,
            values,
            types,
          );
          for (const row of plan.getRows()) {
            for (const node of JSON.parse(String(row[1])) as PlanNode[]) walk(node);
          }
          return connection.runAndReadAll(sql, values, types);
        },
      };
      return { ...snapshot, connection: explain as DuckDBConnection };
    },
  };
  await read(explaining);
  return joins;
}

test('a start pairs with returns up to periods - 1 later, across the blocks of the join', async () => {
  // a: every day of 20; b: days 2, 3 and 4 (blocks of 3 days: 0–2, 3–5: b's start on day 2
  // finds its returns in the next block); c: days 0 and 5 (5 days later: beyond 3 periods).
  const events = Array.from({ length: 20 }, (_, day) => visit('a', day));
  events.push(visit('b', 2), visit('b', 3), visit('b', 4), visit('c', 0), visit('c', 5));
  await source.add(events);
  const result = await getCohorts(source, 'acme', options(3, 20));
  const ones = (n: number) => Array.from({ length: n }, () => [1, 1, 1]);
  expect(result.cohorts.map((c) => c.returned)).toEqual([
    [2, 1, 1],
    [1, 1, 1],
    [2, 2, 2],
    [2, 2, 1],
    [2, 1, 1],
    [2, 1, 1],
    ...ones(12),
    [1, 1],
    [1],
  ]);
  // Periods that reach past the range: every later return counts (no blocks); c's on day 5.
  const all = await getCohorts(source, 'acme', options(20, 20));
  expect(all.cohorts[0]?.returned).toEqual([2, 1, 1, 1, 1, 2, ...Array(14).fill(1)]);
});

test('the join of starts and returns has a key beyond the actor while periods < cohorts', async () => {
  await source.add([visit('a', 0), visit('a', 1)]);
  const joins = await hashJoinsOf((s) => getCohorts(s, 'acme', options(7, 366)));
  // The join of starts and returns: the one comparing the periods `i` of both sides.
  const pairing = joins.filter((conditions) => conditions.includes('i < i'));
  expect(pairing).toHaveLength(1);
  expect(pairing[0]).toEqual(expect.arrayContaining(['a = a', 'blk = blk']));
});
