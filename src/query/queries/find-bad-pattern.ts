// RE2 patterns a filter brings (Plausible's `matches`) tried before a read uses them: DuckDB
// compiles each, and the first it refuses comes back with its reason, so that a bad pattern
// is the caller's 400 naming it, not a failed read.

import type { EventSource } from '../../storage/index.ts';
import { readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

/** The first of `patterns` RE2 refuses and why, or null when DuckDB compiles them all. */
export async function findBadPattern(
  source: EventSource,
  tenant: string,
  patterns: string[],
  signal?: AbortSignal,
): Promise<{ pattern: string; reason: string } | null> {
  if (patterns.length === 0) return null;
  // No event is read (an empty range), but the statement names the snapshot it runs on.
  return withSnapshot(source, tenant, { fromMs: 0, toMs: 0 }, signal, async (snapshot) => {
    for (const pattern of patterns) {
      const params = new SqlParams();
      const sql = `SELECT regexp_matches('', ${params.add(pattern)}) AS matched
        FROM (SELECT count(*) FROM (SELECT 1 FROM ${snapshot.from} AS e LIMIT 0))`;
      try {
        await readRows(snapshot, sql, params);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!message.startsWith(INVALID_INPUT)) throw error;
        return { pattern, reason: message.slice(INVALID_INPUT.length) };
      }
    }
    return null;
  });
}

const INVALID_INPUT = 'Invalid Input Error: ';
