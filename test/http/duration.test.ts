// An event's `duration` is bounded as a metric's `value` is, so that the sums behind
// `avg_duration` stay finite: three visits of 1.7e308 seconds made stats' `avg_duration` null.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { eventLimits } from '../../src/core/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

test('a duration too large to sum is a 422 naming it, and nothing is stored', async () => {
  const huge = await t.post('/api/v1/events', { name: 'visit', duration: 1.7e308 });
  expect(huge.status).toBe(422);
  expect(await huge.json()).toEqual({
    detail: [
      {
        loc: ['body', 'duration'],
        msg:
          `duration must be at most ${eventLimits.durationSecondsMax} seconds ` +
          '(sums of durations must stay finite)',
        type: 'value_error',
      },
    ],
  });
  expect(await t.count()).toBe(0);
});

test('durations at the limit still average to a number', async () => {
  const max = eventLimits.durationSecondsMax;
  for (let i = 0; i < 3; i++) {
    const sent = await t.post('/api/v1/events', {
      name: 'page_view',
      path: '/',
      session_id: `s${i}`,
      duration: max,
      timestamp: T0 - 1000 * (i + 1),
    });
    expect(sent.status).toBe(202);
  }
  const stats = (await (await t.get('/api/v1/stats?date=2026-11-25')).json()) as {
    avg_duration: number | null;
  };
  expect(typeof stats.avg_duration).toBe('number');
  expect(Math.abs((stats.avg_duration ?? 0) / max - 1)).toBeLessThan(1e-9);
});
