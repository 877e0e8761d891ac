// Stopping a DuckDB statement once whoever waits for it is gone: the query layer's reads whose
// client went away, and the engine's rebuild of an actor evicted meanwhile (engine may not import
// query, so both take it from here).

import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * How often a statement whose signal aborted is interrupted again until it settles. DuckDB drops
 * an interrupt that comes while its connection executes nothing: before a statement submitted
 * has begun on DuckDB's threads, or between the steps of one `runAndReadAll` (prepare, then
 * execute). One interrupt sent then lets the statement run to its end (test/query/
 * read-abort.test.ts aborts at that moment).
 */
const INTERRUPT_REPEAT_MS = 10;

/**
 * Once `signal` aborts, interrupts `connection`'s statement (a connection of one reader's own:
 * no other read is touched), and again every INTERRUPT_REPEAT_MS; returns what stops that, to
 * be called once the statements are settled.
 */
export function interruptOnAbort(
  connection: Pick<DuckDBConnection, 'interrupt'>,
  signal: AbortSignal | undefined,
): () => void {
  if (signal === undefined) return () => undefined;
  let repeat: ReturnType<typeof setInterval> | undefined;
  const interrupt = () => {
    connection.interrupt();
    repeat = setInterval(() => connection.interrupt(), INTERRUPT_REPEAT_MS);
  };
  signal.addEventListener('abort', interrupt, { once: true });
  return () => {
    signal.removeEventListener('abort', interrupt);
    clearInterval(repeat);
  };
}
