import { describe, expect, test } from 'bun:test';
import { DedupIndex } from '../../src/engine/index.ts';

const DAY = 86_400_000;

describe('DedupIndex', () => {
  test('remembers a key for at least the window and at most 9/8 of it', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    const t0 = 100 * DAY;
    index.add('k', t0);
    index.expire(t0 + 8 * DAY - 1);
    expect(index.has('k')).toBe(true);
    index.expire(t0 + 9 * DAY);
    expect(index.has('k')).toBe(false);
    expect(index.size).toBe(0);
  });

  test('a zero window remembers forever', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 100 });
    index.add('k', 0);
    index.expire(10_000 * DAY);
    expect(index.has('k')).toBe(true);
    expect(index.isExpired(0, 10_000 * DAY)).toBe(false);
  });

  test('counts keys against its maximum and can undo an add', () => {
    const index = new DedupIndex({ windowMs: DAY, keysMax: 2 });
    index.add('a', 0);
    expect(index.wouldOverflow(1)).toBe(false);
    expect(index.wouldOverflow(2)).toBe(true);
    index.remove('a', 0);
    expect(index.has('a')).toBe(false);
    expect(index.size).toBe(0);
  });
});
