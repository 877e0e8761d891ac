import { describe, expect, test } from 'bun:test';
import { OldestFirst } from '../../src/engine/oldest-first.ts';
import { seededRandom } from '../helpers/random.ts';

/** A seeded pseudo-random generator (mulberry32): the same run every time. */

describe('OldestFirst', () => {
  test('agrees with a scan of every name over random updates and removals', () => {
    const times = new Map<string, number>();
    const order = new OldestFirst((name) => times.get(name));
    const next = seededRandom(7);
    for (let step = 0; step < 20_000; step++) {
      const name = `n${Math.floor(next() * 50)}`;
      if (next() < 0.2) {
        times.delete(name);
      } else {
        const at = Math.floor(next() * 1000); // ties on purpose
        times.set(name, at);
        order.note(name, at, times.size);
      }
      let expected: { name: string; at: number } | null = null;
      for (const [n, at] of times) {
        if (expected === null || at < expected.at || (at === expected.at && n < expected.name)) {
          expected = { name: n, at };
        }
      }
      expect(order.peek()).toEqual(expected);
    }
  });
});
