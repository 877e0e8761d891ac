import { expect, test } from 'bun:test';
import { createLogger, ManualClock, RepeatedWarning } from '../../src/core/index.ts';

function made(limits = { everyMs: 60_000, keysMax: 2 }) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('warn', (line) => lines.push(JSON.parse(line)));
  const clock = new ManualClock(1_000_000);
  return { lines, clock, warning: new RepeatedWarning(log, 'left out', clock, limits) };
}

test('a key is logged at once, then at most once per interval with what it stands for', () => {
  const { lines, clock, warning } = made();
  warning.note('a', 2, { tenant: 'a' });
  warning.note('a', 1, { tenant: 'a' });
  warning.note('b', 7, { tenant: 'b' }); // another key is its own
  clock.advance(59_999);
  warning.note('a', 1, { tenant: 'a' });
  expect(lines.map((l) => [l.tenant, l.requests, l.items])).toEqual([
    ['a', 1, 2],
    ['b', 1, 7],
  ]);
  clock.advance(1);
  warning.note('a', 4, { tenant: 'a' });
  expect(lines.at(-1)).toMatchObject({ msg: 'left out', tenant: 'a', requests: 3, items: 6 });
});

test('a clock that went back logs at once rather than stay quiet until it catches up', () => {
  const { lines, clock, warning } = made();
  warning.note('a', 1, {});
  clock.set(1_000_000 - 3_600_000);
  warning.note('a', 1, {});
  expect(lines).toHaveLength(2);
});

test('past keysMax the key logged longest ago is forgotten, the others keep their counts', () => {
  const { lines, clock, warning } = made();
  warning.note('a', 1, { key: 'a' });
  warning.note('b', 1, { key: 'b' });
  warning.note('b', 1, { key: 'b' }); // counted
  warning.note('c', 1, { key: 'c' }); // 'a' is forgotten
  warning.note('a', 1, { key: 'a' }); // logged as a first; 'b' is forgotten
  expect(lines.map((l) => l.key)).toEqual(['a', 'b', 'c', 'a']);
  warning.note('c', 1, { key: 'c' }); // still remembered: counted
  expect(lines).toHaveLength(4);
  clock.advance(60_000);
  warning.note('c', 1, { key: 'c' });
  expect(lines.at(-1)).toMatchObject({ key: 'c', requests: 2, items: 2 });
});
