import { describe, expect, test } from 'bun:test';
import { EPOCH_MS_MAX, EPOCH_MS_MIN } from '../../src/core/index.ts';
import {
  newestFirstWindows,
  oldestFirstWindows,
  PAGE_WINDOW_FIRST_MS,
  PAGE_WINDOW_GROWTH,
  PAGE_WINDOWS_MAX,
  pageAnchorMs,
} from '../../src/query/page-windows.ts';
import type { TimeRange } from '../../src/storage/index.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');

/** The window (its index) each instant falls in: exactly one for every instant of the range. */
function windowsHolding(windows: TimeRange[], ms: number): number[] {
  return windows.flatMap((w, i) =>
    (w.fromMs === undefined || ms >= w.fromMs) && (w.toMs === undefined || ms < w.toMs) ? [i] : [],
  );
}

describe('newestFirstWindows', () => {
  test('an hour below the anchor (and all after it), then windows 8× wider, then the rest', () => {
    const windows = [...newestFirstWindows(NOW, undefined)];
    expect(PAGE_WINDOW_FIRST_MS).toBe(HOUR);
    expect(PAGE_WINDOW_GROWTH).toBe(8);
    expect(windows).toHaveLength(PAGE_WINDOWS_MAX + 1);
    expect(windows.slice(0, 3)).toEqual([
      { fromMs: NOW - HOUR },
      { fromMs: NOW - 8 * HOUR, toMs: NOW - HOUR },
      { fromMs: NOW - 64 * HOUR, toMs: NOW - 8 * HOUR },
    ]);
    expect(windows.at(-1)).toEqual({ toMs: NOW - 8 ** (PAGE_WINDOWS_MAX - 1) * HOUR });
  });

  test('every instant, after the anchor too, is in exactly one window, newest first', () => {
    const windows = [...newestFirstWindows(NOW, undefined)];
    const instants = [NOW + 10 * HOUR, NOW, NOW - HOUR, NOW - HOUR - 1, NOW - 400 * 24 * HOUR, 0];
    const found = instants.map((ms) => windowsHolding(windows, ms));
    expect(found.every((w) => w.length === 1)).toBe(true);
    const order = found.map((w) => w[0] as number);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test("the range's start ends the windows: the last one reaches down to it", () => {
    expect([...newestFirstWindows(NOW, NOW - 3 * HOUR)]).toEqual([
      { fromMs: NOW - HOUR },
      { fromMs: NOW - 3 * HOUR, toMs: NOW - HOUR },
    ]);
    // A start inside the first hour: one window, the whole range.
    expect([...newestFirstWindows(NOW, NOW - 1)]).toEqual([{ fromMs: NOW - 1 }]);
    // A start exactly at a window's lower end: that window is the last.
    expect([...newestFirstWindows(NOW, NOW - 8 * HOUR)]).toEqual([
      { fromMs: NOW - HOUR },
      { fromMs: NOW - 8 * HOUR, toMs: NOW - HOUR },
    ]);
  });
});

describe('pageAnchorMs', () => {
  test("a cursor's instant (up to the next millisecond) or the range's end, the earlier", () => {
    const cursorUs = String((NOW - HOUR) * 1000 + 250);
    expect(pageAnchorMs(cursorUs, undefined, NOW)).toBe(NOW - HOUR + 1);
    expect(pageAnchorMs(cursorUs, NOW - 2 * HOUR, NOW)).toBe(NOW - 2 * HOUR);
    // A cursor is exact: now does not matter.
    expect(pageAnchorMs(cursorUs, undefined, NOW - 5 * HOUR)).toBe(NOW - HOUR + 1);
    expect(pageAnchorMs(undefined, NOW - 2 * HOUR, NOW)).toBe(NOW - 2 * HOUR);
  });

  test('without a cursor, now when the range ends later or has no end', () => {
    expect(pageAnchorMs(undefined, undefined, NOW)).toBe(NOW);
    expect(pageAnchorMs(undefined, NOW + 12 * HOUR, NOW)).toBe(NOW);
  });

  test('before 1970 the cursor still rounds up', () => {
    expect(pageAnchorMs('-1500', undefined, NOW)).toBe(-1);
  });
});

describe('oldestFirstWindows', () => {
  test('the first window from the start, then 8× wider ones, then the rest of the range', () => {
    const windows = [...oldestFirstWindows(NOW, undefined, 1000)];
    expect(windows).toHaveLength(PAGE_WINDOWS_MAX + 1);
    expect(windows.slice(0, 3)).toEqual([
      { fromMs: NOW, toMs: NOW + 1000 },
      { fromMs: NOW + 1000, toMs: NOW + 9000 },
      { fromMs: NOW + 9000, toMs: NOW + 73_000 },
    ]);
    expect(windows.at(-1)).toEqual({ fromMs: windows.at(-2)?.toMs as number });
    const instants = [NOW, NOW + 999, NOW + 1000, NOW + 10 * 8760 * HOUR];
    for (const ms of instants) expect(windowsHolding(windows, ms)).toHaveLength(1);
  });

  test("the range's end ends the windows: the last one reaches up to it", () => {
    expect([...oldestFirstWindows(NOW, NOW + 5000, 1000)]).toEqual([
      { fromMs: NOW, toMs: NOW + 1000 },
      { fromMs: NOW + 1000, toMs: NOW + 5000 },
    ]);
    expect([...oldestFirstWindows(NOW, NOW + 1000, 1000)]).toEqual([
      { fromMs: NOW, toMs: NOW + 1000 },
    ]);
  });
});

describe('the windows stay within the instants an event may have', () => {
  test('none reaches past year 9999 or before year 0000: the rest is the last window', () => {
    const late = [...oldestFirstWindows(EPOCH_MS_MAX - 10 * HOUR, undefined, 8760 * HOUR)];
    expect(late).toEqual([{ fromMs: EPOCH_MS_MAX - 10 * HOUR }]);
    const early = [...newestFirstWindows(EPOCH_MS_MIN + 2 * HOUR, undefined)];
    expect(early).toEqual([{ fromMs: EPOCH_MS_MIN + HOUR }, { toMs: EPOCH_MS_MIN + HOUR }]);
    for (const w of [...oldestFirstWindows(0, undefined, 10 * 8760 * HOUR)])
      expect(w.toMs === undefined || w.toMs <= EPOCH_MS_MAX).toBe(true);
  });
});
