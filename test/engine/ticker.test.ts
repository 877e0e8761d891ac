import { describe, expect, test } from 'bun:test';
import { Ticker } from '../../src/engine/ticker.ts';

describe('Ticker', () => {
  test('runs the ticks of one turn together, then afterTicks once', async () => {
    const order: string[] = [];
    const ticker = new Ticker(() => order.push('after'));
    ticker.schedule(() => order.push('a'));
    ticker.schedule(() => {
      order.push('b');
      ticker.schedule(() => order.push('next turn'));
    });
    expect(order).toEqual([]); // nothing runs before the turn ends
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a', 'b', 'after']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a', 'b', 'after', 'next turn', 'after']);
  });
});
