// The dashboard's bound on a request (web/deadline.ts): a run that never ends is given up with
// ReadTimeout and its signal aborted; one that ends in time is its own answer, or its own error.

import { describe, expect, test } from 'bun:test';
import { READ_TIMEOUT_MS, ReadTimeout, withDeadline } from '../../web/deadline.ts';

describe('withDeadline', () => {
  test('a run that never ends is given up after the deadline, its signal aborted', async () => {
    let seen: AbortSignal | null = null;
    const started = performance.now();
    const outcome = await withDeadline((signal) => {
      seen = signal;
      return new Promise<never>(() => {}); // waits on something the signal does not reach
    }, 50).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(ReadTimeout);
    expect((outcome as ReadTimeout).message).toBe('the server did not answer within 0 s');
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  test('a run that ends in time gives its answer or its error, its signal never aborted', async () => {
    let seen: AbortSignal | null = null;
    const answer = await withDeadline(async (signal) => {
      seen = signal;
      return 42;
    }, 50);
    expect(answer).toBe(42);
    await Bun.sleep(80);
    expect((seen as AbortSignal | null)?.aborted).toBe(false);
    const error = await withDeadline(async () => {
      throw new Error('refused');
    }, 50).catch((e: unknown) => e);
    expect((error as Error).message).toBe('refused');
  });

  test("the dashboard's bound is above a read's longest legitimate wait", () => {
    // 32 reads waiting ahead, 2 at a time, at QUERY_TIMEOUT's default 10 s each, and its own.
    expect(READ_TIMEOUT_MS).toBeGreaterThan((32 / 2 + 1) * 10_000);
    expect(new ReadTimeout(READ_TIMEOUT_MS).message).toBe('the server did not answer within 180 s');
  });
});
