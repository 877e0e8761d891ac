// When the hub runs a credentials round (RecheckSchedule): every CREDENTIALS_RECHECK_MS; at
// the next tick after a change of access, such rounds spaced CREDENTIALS_RECHECK_SOON_MS apart;
// and when an access token of a socket expires.

import { expect, test } from 'bun:test';
import {
  CREDENTIALS_RECHECK_MS,
  CREDENTIALS_RECHECK_SOON_MS,
  RecheckSchedule,
} from '../../src/live/recheck.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

test('every CREDENTIALS_RECHECK_MS; a change at once, then spaced', () => {
  const schedule = new RecheckSchedule();
  expect(schedule.take(T0)).toBe(true);
  expect(schedule.take(T0 + 25)).toBe(false);
  schedule.want();
  expect(schedule.take(T0 + 50)).toBe(true);
  schedule.want();
  expect(schedule.take(T0 + 75)).toBe(false); // less than SOON_MS after the last asked for
  expect(schedule.take(T0 + 50 + CREDENTIALS_RECHECK_SOON_MS)).toBe(true);
  expect(schedule.take(T0 + 100 + CREDENTIALS_RECHECK_SOON_MS)).toBe(false); // done: not again
  const last = T0 + 50 + CREDENTIALS_RECHECK_SOON_MS;
  expect(schedule.take(last + CREDENTIALS_RECHECK_MS - 1)).toBe(false);
  expect(schedule.take(last + CREDENTIALS_RECHECK_MS)).toBe(true);
});

test('a round at each expiry of a socket’s token, once; many sockets share a second', () => {
  const schedule = new RecheckSchedule();
  expect(schedule.take(T0)).toBe(true);
  for (let i = 0; i < 100; i++) schedule.expireAt(T0 + 3000 - i); // all within 1 s
  schedule.expireAt(T0 + 4500);
  expect(schedule.take(T0 + 2999)).toBe(false);
  expect(schedule.take(T0 + 3000)).toBe(true);
  expect(schedule.take(T0 + 3500)).toBe(false);
  expect(schedule.take(T0 + 4499)).toBe(false);
  expect(schedule.take(T0 + 5000)).toBe(true); // 4.5 s's second ends at 5 s
  expect(schedule.take(T0 + 5025)).toBe(false);
});
