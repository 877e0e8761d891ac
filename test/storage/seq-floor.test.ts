import { describe, expect, test } from 'bun:test';
import { seqFloorOf } from '../../src/storage/event-store.ts';

describe('seqFloorOf (where new log records start at open)', () => {
  test('is the highest of the flushed seq, the tombstones and the erasures', () => {
    expect(seqFloorOf(5, [3, 9, 4], 7)).toBe(9);
    expect(seqFloorOf(5, [], 7)).toBe(7);
    expect(seqFloorOf(12, new Map([['a', 3]]).values(), 0)).toBe(12);
  });

  test('takes millions of tombstones (tenants deleted before a flush) without a RangeError', () => {
    // Spread into Math.max(...), 2M values overflow the call stack and the store cannot open.
    const tombstones = new Map<string, number>();
    for (let i = 0; i < 2_000_000; i++) tombstones.set(`t${i}`, i + 1);
    expect(seqFloorOf(10, tombstones.values(), 20)).toBe(2_000_000);
  });
});
