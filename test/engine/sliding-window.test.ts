import { describe, expect, test } from 'bun:test';
import {
  FUTURE_SKEW_MS,
  KeyedSlidingCounter,
  OTHER_NAME,
  SlidingCounter,
  WINDOW_NAMES,
  type WindowName,
} from '../../src/engine/sliding-window.ts';
import { seededRandom } from '../helpers/random.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
/** A minute-aligned instant, so bucket edges fall on round offsets from it. */
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

/** A small deterministic PRNG (mulberry32) so the model check is repeatable. */

/** The documented semantics, computed naively from the list of counted events. */
function expected(events: { at: number; n: number }[], window: WindowName, now: number): number {
  const unit = window === '1m' || window === '5m' ? S : M;
  const buckets = { '1m': 60, '5m': 300, '1h': 60, '24h': 1440 }[window];
  const last = Math.floor(now / unit);
  return events
    .filter((e) => Math.floor(e.at / unit) > last - buckets && Math.floor(e.at / unit) <= last)
    .reduce((sum, e) => sum + e.n, 0);
}

describe('SlidingCounter', () => {
  test('each view covers the last N seconds or minutes including the current one', () => {
    const c = new SlidingCounter();
    c.add(T0 + 500, T0 + 500);
    expect(c.total('1m', T0 + 59 * S + 999)).toBe(1);
    expect(c.total('1m', T0 + 60 * S)).toBe(0);
    expect(c.total('5m', T0 + 299 * S + 999)).toBe(1);
    expect(c.total('5m', T0 + 300 * S)).toBe(0);
    expect(c.total('1h', T0 + 59 * M + 59_999)).toBe(1);
    expect(c.total('1h', T0 + 60 * M)).toBe(0);
    expect(c.total('24h', T0 + 1439 * M + 59_999)).toBe(1);
    expect(c.total('24h', T0 + 1440 * M)).toBe(0);
  });

  test('counts by the time given, into older buckets while they are kept', () => {
    const c = new SlidingCounter();
    const now = T0 + 2 * H;
    expect(c.add(now - 30 * S, now, 2)).toBe('counted');
    expect(c.add(now - 10 * M, now, 3)).toBe('counted');
    expect(c.add(now - 23 * H, now, 4)).toBe('counted');
    expect(c.snapshot(now)).toEqual({ '1m': 2, '5m': 2, '1h': 5, '24h': 9, perSecond: 2 / 60 });
  });

  test('events older than 24 h are expired and not counted', () => {
    const c = new SlidingCounter();
    const now = T0 + 3 * 24 * H;
    expect(c.add(now - 24 * H, now)).toBe('expired');
    expect(c.add(now - 24 * H + M, now)).toBe('counted');
    expect(c.total('24h', now)).toBe(1);
  });

  test('a time far in the future is refused and moves nothing', () => {
    const c = new SlidingCounter();
    c.add(T0, T0);
    expect(c.add(T0 + FUTURE_SKEW_MS + 1, T0)).toBe('future');
    expect(c.add(T0 + 24 * H, T0)).toBe('future');
    expect(c.total('1m', T0)).toBe(1);
  });

  test('a lead within the clock skew counts as now', () => {
    const c = new SlidingCounter();
    expect(c.add(T0 + FUTURE_SKEW_MS, T0)).toBe('counted');
    expect(c.total('1m', T0)).toBe(1);
  });

  test('eventsPerSecond averages the 60 whole seconds before the current one', () => {
    const c = new SlidingCounter();
    const now = T0 + 10 * M + 400;
    for (let s = 1; s <= 60; s++) c.add(now - s * S, now, 3);
    c.add(now, now, 1000);
    c.add(now - 61 * S, now, 1000);
    expect(c.eventsPerSecond(now)).toBe(3);
  });

  test('buckets are reused as time moves on, and a long idle gap clears everything', () => {
    const c = new SlidingCounter();
    c.add(T0, T0, 5);
    c.add(T0 + 300 * S, T0 + 300 * S, 1);
    expect(c.total('5m', T0 + 300 * S)).toBe(1);
    expect(c.total('1h', T0 + 300 * S)).toBe(6);
    expect(c.snapshot(T0 + 2 * 24 * H)).toEqual({
      '1m': 0,
      '5m': 0,
      '1h': 0,
      '24h': 0,
      perSecond: 0,
    });
  });

  test('a read at an older time (clock stepped back) leaves out later buckets', () => {
    const c = new SlidingCounter();
    c.add(T0 + 10 * S, T0 + 10 * S);
    c.add(T0 + 20 * S, T0 + 20 * S);
    expect(c.total('1m', T0 + 15 * S)).toBe(1);
    expect(c.total('1m', T0 + 20 * S)).toBe(2);
  });

  test('matches a naive model on a random stream over two days', () => {
    const next = seededRandom(7);
    const c = new SlidingCounter();
    const counted: { at: number; n: number }[] = [];
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      now += Math.floor(next() * 20 * S);
      const at = now - Math.floor(next() * next() * 30 * H);
      const n = 1 + Math.floor(next() * 5);
      const outcome = c.add(at, now, n);
      const tooOld = Math.floor(at / M) <= Math.floor(now / M) - 1440;
      expect(outcome).toBe(tooOld ? 'expired' : 'counted');
      if (outcome === 'counted') counted.push({ at, n });
      if (i % 997 === 0) {
        for (const w of WINDOW_NAMES) expect(c.total(w, now)).toBe(expected(counted, w, now));
      }
    }
  });

  test('the snapshot is plain JSON numbers', () => {
    const c = new SlidingCounter();
    c.add(T0, T0, 7);
    const snap = c.snapshot(T0 + S);
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });
});

describe('KeyedSlidingCounter', () => {
  test('counts per name and over all names', () => {
    const k = new KeyedSlidingCounter({ namesMax: 10 });
    k.add('pageview', T0, T0, 3);
    k.add('signup', T0, T0, 1);
    expect(k.total('1m', T0)).toBe(4);
    expect(k.total('1m', T0, 'pageview')).toBe(3);
    expect(k.total('1m', T0, 'unknown')).toBe(0);
    const snap = k.snapshot(T0);
    expect(snap.all['24h']).toBe(4);
    expect(snap.names.map((n) => [n.name, n['24h']])).toEqual([
      ['pageview', 3],
      ['signup', 1],
    ]);
  });

  test('names past namesMax are counted under (other)', () => {
    const k = new KeyedSlidingCounter({ namesMax: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'a']) k.add(name, T0, T0);
    expect(k.namesTracked).toBe(3);
    expect(k.total('1m', T0, 'a')).toBe(2);
    expect(k.total('1m', T0, 'c')).toBe(0);
    expect(k.total('1m', T0, OTHER_NAME)).toBe(2);
    expect(k.total('1m', T0)).toBe(5);
  });

  test('a name idle for 24 h gives its place up to a new one', () => {
    const k = new KeyedSlidingCounter({ namesMax: 1 });
    k.add('old', T0, T0);
    const later = T0 + 24 * H;
    k.add('new', later, later);
    expect(k.total('1m', later, 'new')).toBe(1);
    expect(k.total('1m', later, OTHER_NAME)).toBe(0);
    expect(k.namesTracked).toBe(1);
  });

  test('nextChangeAt is no later than when a name stops being partial', () => {
    const k = new KeyedSlidingCounter({ namesMax: 1 });
    k.add('a', T0 + 30 * S, T0 + 30 * S); // a takes the one named counter
    k.add('b', T0 + 23 * H, T0 + 23 * H); // under (other)
    const freed = T0 + 24 * H + 30 * S; // a left the 24 h: c gets a's place, partial for 24 h
    k.add('c', freed, freed);
    k.add('e', freed + H, freed + H); // (other) again
    const quiet = T0 + 48 * H + S; // c's minute left the 24 h; e's holds until 49 h
    const partial = (at: number) => k.snapshot(at).names.find((n) => n.name === 'c')?.partial;
    expect(partial(quiet)).toBe(true);
    expect(k.nextChangeAt(quiet)).toBe(freed + 24 * H);
    expect(partial(freed + 24 * H)).toBe(false);
  });

  test('after a clock step back past the second ring, a name counts what the total counts', () => {
    // A name first seen after the step (its counter new), and one last seen before the newest
    // time (its counter behind the total's): the total's second ring no longer holds the
    // step's time, so 1m and 5m leave those events out (README); a name's may not show them.
    const k = new KeyedSlidingCounter({ namesMax: 10 });
    k.add('early', T0, T0);
    k.add('late', T0 + 10 * M, T0 + 10 * M);
    const back = T0 + 4 * M; // NTP steps the clock back six minutes
    k.add('fresh', back, back);
    for (const at of [back, back + 30 * S, T0 + 30 * S]) {
      const snap = k.snapshot(at);
      for (const n of snap.names) {
        for (const w of WINDOW_NAMES) expect(n[w]).toBeLessThanOrEqual(snap.all[w]);
        expect(n.perSecond).toBeLessThanOrEqual(snap.all.perSecond);
      }
      for (const name of ['early', 'fresh']) {
        for (const w of WINDOW_NAMES)
          expect(k.total(w, at, name)).toBeLessThanOrEqual(k.total(w, at));
      }
    }
    expect(k.total('1h', back, 'fresh')).toBe(1);
    expect(k.total('1h', back)).toBe(2);
  });

  test('after a clock step back, a name with events only after the clock keeps its place', () => {
    // Its events are left out until the clock gets back to them, not gone: a new name that
    // finds the table full must not prune it as if it had none in 24 h.
    const k = new KeyedSlidingCounter({ namesMax: 1 });
    k.add('a', T0 + 10 * M, T0 + 10 * M);
    const back = T0 + 4 * M; // NTP steps the clock back six minutes
    k.add('b', back, back);
    const later = T0 + 10 * M;
    expect(k.total('1m', later, 'a')).toBe(1);
    expect(k.total('24h', later, OTHER_NAME)).toBe(1);
    const snap = k.snapshot(later);
    for (const w of WINDOW_NAMES) {
      expect(snap.names.reduce((sum, n) => sum + n[w], 0)).toBe(snap.all[w]);
    }
  });

  test('a refused event is counted nowhere', () => {
    const k = new KeyedSlidingCounter({ namesMax: 4 });
    expect(k.add('x', T0 + H, T0)).toBe('future');
    expect(k.namesTracked).toBe(0);
    expect(k.snapshot(T0 + H).all['24h']).toBe(0);
  });
});
