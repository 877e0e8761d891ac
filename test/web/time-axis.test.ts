// The charts' time labels (web/time-axis.ts), written by Intl in the page's zone whatever the
// process's own zone: a day line where the day changes, a year line where the year does, and
// a legend time that tells apart the two 1:30 AM of a night the clocks go back.

import { describe, expect, test } from 'bun:test';
import { zoneTime } from '../../web/time-axis.ts';

const DAY_S = 86_400;
const at = (iso: string) => Date.parse(iso) / 1000;
/** Labels with every space a plain one (ICU may write a narrow no-break space before AM). */
const plain = (labels: string[]) =>
  labels.map((label) => label.replace(/\s/g, (c) => (c === '\n' ? c : ' ')));

describe('zoneTime', () => {
  const time = zoneTime(() => 'America/New_York', 'en-US');

  test('hour ticks name their day below the first one and at midnight', () => {
    const splits = ['2026-03-08T04:00Z', '2026-03-08T05:00Z', '2026-03-08T06:00Z'].map(at);
    expect(plain(time.axisValues(null, splits, 0, 0, 3600))).toEqual([
      '11:00 PM\nMar 7',
      '12:00 AM\nMar 8',
      '1:00 AM',
    ]);
  });

  test("the hour after a spring-forward gap is the zone's 3:00 AM", () => {
    const splits = ['2026-03-08T06:00Z', '2026-03-08T07:00Z'].map(at);
    expect(plain(time.axisValues(null, splits, 0, 0, 3600))).toEqual(['1:00 AM\nMar 8', '3:00 AM']);
  });

  test('day, month and year ticks name the year where it changes', () => {
    const days = ['2026-12-31T05:00Z', '2027-01-01T05:00Z', '2027-01-02T05:00Z'].map(at);
    expect(plain(time.axisValues(null, days, 0, 0, DAY_S))).toEqual([
      'Dec 31\n2026',
      'Jan 1\n2027',
      'Jan 2',
    ]);
    const months = ['2026-12-01T05:00Z', '2027-01-01T05:00Z'].map(at);
    expect(plain(time.axisValues(null, months, 0, 0, 28 * DAY_S))).toEqual([
      'Dec\n2026',
      'Jan\n2027',
    ]);
    expect(plain(time.axisValues(null, months, 0, 0, 365 * DAY_S))).toEqual(['2026', '2027']);
  });

  test('the legend tells apart the two 1:30 AM of the night the clocks go back', () => {
    const first = time.legendValue(null, at('2026-11-01T05:30Z'), 0, 0);
    const second = time.legendValue(null, at('2026-11-01T06:30Z'), 0, 1);
    expect(plain([first, second])).toEqual([
      'Nov 1, 2026, 1:30 AM EDT',
      'Nov 1, 2026, 1:30 AM EST',
    ]);
    expect(time.legendValue(null, at('2026-11-01T06:30Z'), 0, null)).toBe('--');
  });

  test('follows the zone the page has at each draw', () => {
    let zone = 'UTC';
    const following = zoneTime(() => zone, 'en-US');
    const split = [at('2026-06-01T12:00Z')];
    expect(plain(following.axisValues(null, split, 0, 0, 3600))).toEqual(['12:00 PM\nJun 1']);
    zone = 'Asia/Kolkata';
    expect(plain(following.axisValues(null, split, 0, 0, 3600))).toEqual(['5:30 PM\nJun 1']);
  });
});
