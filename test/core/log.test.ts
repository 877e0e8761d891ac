// README "Operations" and "Settings": every line is one JSON object (`ts`, `level`, `msg` and
// its fields); LOG_LEVEL keeps lines of that level and above, `info` (the default) logs every
// request, and `silent` nothing.

import { expect, test } from 'bun:test';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../src/core/index.ts';
import { makeTestApp } from '../helpers/app.ts';

function linesAt(level: LogLevel): Record<string, unknown>[] {
  const lines: string[] = [];
  const log = createLogger(level, (line) => lines.push(line));
  log.debug('d', { n: 1 });
  log.info('i', { n: 2 });
  log.warn('w', { n: 3 });
  log.error('e', { n: 4 });
  // One line each, newline-terminated.
  expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('one JSON line per entry with ts, level, msg and the fields; LOG_LEVEL filters', () => {
  expect(LOG_LEVELS).toEqual(['debug', 'info', 'warn', 'error', 'silent']);
  const all = linesAt('debug');
  expect(all.map((l) => [l.level, l.msg, l.n])).toEqual([
    ['debug', 'd', 1],
    ['info', 'i', 2],
    ['warn', 'w', 3],
    ['error', 'e', 4],
  ]);
  expect(Number.isNaN(Date.parse(`${all[0]?.ts}`))).toBe(false);
  expect(linesAt('info').map((l) => l.msg)).toEqual(['i', 'w', 'e']);
  expect(linesAt('warn').map((l) => l.msg)).toEqual(['w', 'e']);
  expect(linesAt('error').map((l) => l.msg)).toEqual(['e']);
  expect(linesAt('silent')).toEqual([]);
});

test("a request's line is at info: the default level logs it, with its fields", async () => {
  const t = await makeTestApp();
  try {
    await t.post('/api/v1/events', { name: 'x', tenant_id: 'acme' });
    await new Promise((resolve) => setImmediate(resolve)); // written after the response
    const line = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).at(-1);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      path: '/api/v1/events',
      status: 202,
      tenant: 'acme',
    });
    expect(typeof line?.duration_ms).toBe('number');
  } finally {
    await t.close();
  }
});
