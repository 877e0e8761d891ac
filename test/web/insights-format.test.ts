// web/insights-format.ts: what the funnel and retention panels send (steps, windows, cohort
// events in the API's syntax) and how they write what comes back (steps, rates, windows,
// cohort periods, shades, and a 422's issues with the fields they name).

import { describe, expect, test } from 'bun:test';
import { cohortRange } from '../../src/query/cohort-periods.ts';
import { formatInZone } from '../../src/query/time-zone.ts';
import {
  cohortEventParam,
  cohortLabel,
  formatPercent,
  formatWindow,
  issueText,
  periodHeading,
  retentionRates,
  shadeOf,
  stepLabel,
  stepParam,
  windowParam,
} from '../../web/insights-format.ts';
import { dayIn } from '../../web/period.ts';

describe('what the panels send', () => {
  test('steps and windows in the syntax of GET /api/v1/funnel', () => {
    expect(stepParam('name', 'signup')).toBe('name:signup');
    expect(stepParam('path', ' /pricing ')).toBe('path:/pricing');
    // Commas stay: the API starts a second condition only before name: or path:.
    expect(stepParam('name', 'a, b')).toBe('name:a, b');
    expect(stepParam('name', '')).toBe('name:');
    // Property conditions typed after the name are sent as typed, in the API's syntax.
    expect(stepParam('name', ' purchase,property.plan:pro ')).toBe(
      'name:purchase,property.plan:pro',
    );
    expect(cohortEventParam('path', '/docs,property.lang:de')).toBe('path:/docs,property.lang:de');
    expect(windowParam(' 14', 'd')).toBe('14d');
    expect(windowParam('90', 'm')).toBe('90m');
  });

  test('cohort events: a page view, any, a name, a path, or left out for the start event', () => {
    expect(cohortEventParam('page_view', 'ignored')).toBe('name:page_view');
    expect(cohortEventParam('any', '')).toBe('any');
    expect(cohortEventParam('name', 'open_app')).toBe('name:open_app');
    expect(cohortEventParam('path', '/docs')).toBe('path:/docs');
    expect(cohortEventParam('same', 'x')).toBeNull();
  });
});

describe('what the panels show', () => {
  test('a step as the API echoes it', () => {
    expect(stepLabel({ name: 'signup' })).toBe('signup');
    expect(stepLabel({ path: '/pricing' })).toBe('Page view of /pricing');
    expect(stepLabel({ name: 'signup', path: '/welcome' })).toBe('signup on /welcome');
    expect(stepLabel({ name: 'purchase', properties: { plan: 'pro' } })).toBe(
      'purchase where plan = pro',
    );
    expect(stepLabel({ path: '/pricing', properties: { plan: 'pro', $browser: 'Firefox' } })).toBe(
      'Page view of /pricing where plan = pro and $browser = Firefox',
    );
  });

  test('rates as percentages with at most one decimal', () => {
    expect(formatPercent(1, 'en-US')).toBe('100%');
    expect(formatPercent(0.5, 'en-US')).toBe('50%');
    expect(formatPercent(2 / 3, 'en-US')).toBe('66.7%');
    expect(formatPercent(0.375, 'en-US')).toBe('37.5%');
    expect(formatPercent(0, 'en-US')).toBe('0%');
    expect(formatPercent(null)).toBe('–');
    expect(formatPercent(Number.NaN)).toBe('–');
    expect(formatPercent(0.125, 'de-DE')).toBe('12,5\u00a0%');
  });

  test('a window in its largest whole unit', () => {
    expect(formatWindow(1_209_600)).toBe('14 days');
    expect(formatWindow(86_400)).toBe('1 day');
    expect(formatWindow(604_800)).toBe('7 days');
    expect(formatWindow(5400)).toBe('90 minutes');
    expect(formatWindow(3600)).toBe('1 hour');
    expect(formatWindow(61)).toBe('61 seconds');
  });

  test('retention rates over the cohort size; an empty cohort has none', () => {
    expect(retentionRates({ size: 4, returned: [4, 2, 1, 0] })).toEqual([1, 0.5, 0.25, 0]);
    expect(retentionRates({ size: 0, returned: [0, 0] })).toEqual([null, null]);
  });

  test('shades grow with the rate, a small share still shows, none for nobody', () => {
    expect(shadeOf(1)).toBe(1);
    expect(shadeOf(0.5)).toBe(0.54);
    expect(shadeOf(0.01)).toBe(0.089);
    expect(shadeOf(0)).toBe(0);
    expect(shadeOf(null)).toBe(0);
    expect(shadeOf(0.3)).toBeLessThan(shadeOf(0.31));
  });

  test("a cohort's period by its local date, whatever the offset", () => {
    expect(cohortLabel('2026-11-02T00:00:00+01:00', 'day', 'en-US')).toBe('Mon, Nov 2, 2026');
    // Midnight in Auckland is the day before in UTC: the label keeps the local date.
    expect(cohortLabel('2026-11-02T00:00:00+13:00', 'week', 'en-US')).toBe('Week of Nov 2, 2026');
    expect(cohortLabel('2026-11-01T00:00:00-04:00', 'month', 'en-US')).toBe('November 2026');
    expect(periodHeading('day', 0)).toBe('Day 0');
    expect(periodHeading('week', 3)).toBe('Week 3');
    expect(periodHeading('month', 1)).toBe('Month 1');
  });

  test("a 422's issue with the field of the form it names", () => {
    const msg = 'the name of a step must not be empty';
    expect(issueText({ loc: ['query', 'step', 1], msg })).toBe(`Step 2: ${msg}`);
    expect(issueText({ loc: ['query', 'step'], msg: 'a funnel has 2 to 20 steps' })).toBe(
      'Steps: a funnel has 2 to 20 steps',
    );
    expect(issueText({ loc: ['query', 'window'], msg: 'bad' })).toBe('Conversion window: bad');
    expect(issueText({ loc: ['query', 'start'], msg: 'bad' })).toBe('Start event: bad');
    expect(issueText({ loc: ['query', 'periods'], msg: 'bad' })).toBe('Periods: bad');
    expect(issueText({ loc: ['query', 'tenant_id'], msg: 'bad' })).toBe('bad');
    expect(issueText({ loc: [], msg: 'bad' })).toBe('bad');
  });
});

describe("cohort labels against the API's own period starts", () => {
  /** Zones whose clocks jump: at 2:00, at midnight (Santiago, Havana), by 30 min, east. */
  const ZONES = [
    'America/New_York',
    'Europe/Berlin',
    'America/Santiago',
    'America/Havana',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'Asia/Tokyo',
  ];
  const YEAR_MS = { from: Date.UTC(2025, 11, 20), to: Date.UTC(2026, 11, 20) };
  const en = (ms: number, options: Intl.DateTimeFormatOptions, tz: string) =>
    new Intl.DateTimeFormat('en-US', { ...options, timeZone: tz }).format(ms);

  test('every day, week and month of a year of DST changes is labelled by its local start', () => {
    for (const tz of ZONES) {
      for (const period of ['day', 'week', 'month'] as const) {
        const { starts } = cohortRange({
          fromMs: YEAR_MS.from,
          toMs: YEAR_MS.to,
          nowMs: YEAR_MS.to,
          period,
          tz,
          periods: 1,
        });
        expect(starts.length).toBeGreaterThan(11);
        for (const ms of starts) {
          const label = cohortLabel(formatInZone(ms, tz), period, 'en-US');
          const date = en(ms, { year: 'numeric', month: 'short', day: 'numeric' }, tz);
          const expected =
            period === 'month'
              ? en(ms, { year: 'numeric', month: 'long' }, tz)
              : period === 'week'
                ? `Week of ${date}`
                : `${en(ms, { weekday: 'short' }, tz)}, ${date}`;
          expect(`${tz} ${label}`).toBe(`${tz} ${expected}`);
          if (period === 'week') expect(en(ms, { weekday: 'short' }, tz)).toBe('Mon');
          if (period === 'month') expect(dayIn(ms, tz).slice(8)).toBe('01');
        }
      }
    }
  });
});
