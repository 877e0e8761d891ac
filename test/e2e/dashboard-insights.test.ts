// The dashboard's funnel and retention panels in Chromium against the real server: a known
// story of events sent over HTTP, the forms filled as a person would, and the numbers the
// panels show, checked against the story by hand. The browser's clock is fixed (Playwright's
// clock) at 22:30 on Nov 24 in New York, so the stats period ("Today", "Last 7 days") the
// panels read over is known. Also: a 422 shown with the field it names, an empty funnel, the
// step limits of the form, a 429 retried on its own, a 401 asking for a key, the retention
// counts read out to screen readers and the panels at 320 px wide.

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { AppError, DEFAULT_TENANT, type TenantResolver } from '../../src/core/index.ts';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';
import { ALL_PLACES, holdReads } from './read-gate.ts';

const cleanups = cleanupsAfterEach();

/** The browser's now: 22:30 on Nov 24 in New York (EST, UTC-5), already Nov 25 in UTC. */
const NOW = '2025-11-25T03:30:00Z';
const NY = 'America/New_York';

/** A UTC instant of Nov 2025: day and time ("24T15:00"). */
const at = (dayTime: string) => `2025-11-${dayTime}:00Z`;

/**
 * The funnel's story, on Nov 24 in New York (10:00 to 10:40 there): a, b, c and d view
 * /pricing; a signs up 2 min after and buys 1 min later; b signs up 4 min after and buys 3 min
 * later, in another session; c signs up 10 min after; d does nothing more. a and c view from
 * the source "ios", a and b on the plan "pro" (a property); the others have neither.
 */
function funnelStory() {
  const view = (user: string, session: string, time: string) => ({
    name: 'page_view',
    path: '/pricing',
    user_id: user,
    session_id: session,
    timestamp: at(time),
    ...(user === 'a' || user === 'c' ? { source: 'ios' } : {}),
    ...(user === 'a' || user === 'b' ? { properties: { plan: 'pro' } } : {}),
  });
  const act = (name: string, user: string, session: string, time: string) => ({
    name,
    user_id: user,
    session_id: session,
    timestamp: at(time),
  });
  return [
    view('a', 's-a', '24T15:00'),
    act('signup', 'a', 's-a', '24T15:02'),
    act('purchase', 'a', 's-a', '24T15:03'),
    view('b', 's-b1', '24T15:10'),
    act('signup', 'b', 's-b1', '24T15:14'),
    act('purchase', 'b', 's-b2', '24T15:17'),
    view('c', 's-c', '24T15:20'),
    act('signup', 'c', 's-c', '24T15:30'),
    view('d', 's-d', '24T15:40'),
  ];
}

/**
 * The retention story, `open_app` events at noon in New York (17:00 UTC): r1 on Nov 18, 19
 * and 21; r2 on Nov 18 and at 22:00 on Nov 20 (already Nov 21 in UTC); r3 on Nov 19 and 20;
 * r4 on Nov 24.
 */
function retentionStory() {
  const open = (user: string, time: string) => ({
    name: 'open_app',
    user_id: user,
    timestamp: at(time),
  });
  return [
    open('r1', '18T17:00'),
    open('r1', '19T17:00'),
    open('r1', '21T17:00'),
    open('r2', '18T17:00'),
    open('r2', '21T03:00'),
    open('r3', '19T17:00'),
    open('r3', '20T17:00'),
    open('r4', '24T17:00'),
  ];
}

async function serve(tenancy?: TenantResolver): Promise<LiveServer> {
  const server = await serveFor(cleanups, tenancy);
  const events = [...funnelStory(), ...retentionStory()];
  const res = await server.post('/api/v1/events/batch', { events }, authOf(tenancy));
  expect(res.status).toBe(202);
  return server;
}

const authOf = (tenancy?: TenantResolver): Record<string, string> =>
  tenancy === undefined ? {} : { authorization: 'Bearer rk_acme' };

/** A page whose clock stands at NOW, in New York, its funnel and cohort statuses logged. */
async function openPage(server: LiveServer, zone = true) {
  const browser = await chromiumFor(cleanups);
  const page = await browser.context.newPage();
  await page.clock.setFixedTime(NOW);
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (/\/api\/v1\/(funnel|cohorts)\b/.test(r.url())) statuses.push(r.status());
  });
  // What the page's Content-Security-Policy refused (an inline style, a script): none.
  const refused: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
  });
  await page.goto(`${server.url}/dashboard`);
  if (zone) {
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.selectOption('#tz', NY);
  }
  return { page, statuses, refused };
}

/** Submits a panel's form and waits until it shows the answer for these days in New York. */
async function submit(page: Page, panel: 'funnel' | 'retention', from: string, to = from) {
  await page.click(`#${panel}-form button[type="submit"]`);
  await shown(page, panel, from, to);
}

const shown = (page: Page, panel: string, from: string, to = from) =>
  page.waitForSelector(`#${panel}[data-shown="${NY} ${from}/${to}"]`, { timeout: 10_000 });

/** The funnel table: each row's header (the step) and cells. */
const funnelRows = (page: Page) =>
  page.$$eval('#funnel-table tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (c) => c.textContent)),
  );

const barWidths = (page: Page) =>
  page.$$eval('#funnel-table .fill', (fills) => fills.map((f) => (f as HTMLElement).style.width));

/**
 * The retention table as seen: its column headings and its rows (header and cells), without
 * the text only screen readers get (.visually-hidden).
 */
const retention = (page: Page) =>
  page.$eval('#retention-table', (table) => {
    const seen = (cell: Element) =>
      Array.from(cell.childNodes)
        .filter((node) => !(node instanceof Element && node.matches('.visually-hidden')))
        .map((node) => node.textContent)
        .join('');
    return {
      heads: Array.from(table.querySelectorAll('thead th'), (th) => th.textContent),
      rows: Array.from(table.querySelectorAll('tbody tr'), (tr) =>
        Array.from(tr.querySelectorAll('th, td'), seen),
      ),
    };
  });

const noteOf = (page: Page, panel: string) => page.textContent(`#${panel}-note`);

async function fillSteps(page: Page, steps: [string, string][]) {
  for (const [i, [kind, text]] of steps.entries()) {
    await page.getByLabel(`Step ${i + 1} matches`, { exact: true }).selectOption(kind);
    await page.getByLabel(`Step ${i + 1}`, { exact: true }).fill(text);
  }
}

describe('the funnel panel', () => {
  test('steps, window and count-by over the stats period: counts, rates, times', async () => {
    const server = await serve();
    const { page, refused } = await openPage(server);
    expect(await page.isHidden('#funnel-table')).toBe(true);
    // Two steps to begin with; a third added. Each field is named by its step.
    expect(await page.locator('#funnel-steps li').count()).toBe(2);
    await page.click('#funnel-add');
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
      ['name', 'purchase'],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    // a 2 min, b 4 min, c 10 min to sign up: median 4 min, mean 5 min 20 s; a 1 min and
    // b 3 min to buy: median (an even count: the mean of the middle two) and mean 2 min.
    expect(await funnelRows(page)).toEqual([
      ['1. Page view of /pricing', '4', '100%', '–', '–', '–', '–'],
      ['2. signup', '3', '75%', '75%', '1', '4m 00s', '5m 20s'],
      ['3. purchase', '2', '50%', '66.7%', '1', '2m 00s', '2m 00s'],
    ]);
    expect(await barWidths(page)).toEqual(['100%', '75%', '50%']);
    expect(await page.textContent('#funnel-summary')).toBe(
      '4 entered, 2 completed (50%) · within 14 days · by visitor',
    );
    expect(await page.textContent('#funnel-days')).toBe(`Mon, Nov 24, 2025 · ${NY}`);
    expect(await page.locator('#funnel-table th[scope="col"]').count()).toBe(7);

    // A 5-minute window: c's sign-up (10 min) and b's purchase (7 min after the view) are out.
    await page.fill('#funnel-window', '5');
    await page.selectOption('#funnel-window-unit', 'm');
    await submit(page, 'funnel', '2025-11-24');
    expect(await funnelRows(page)).toEqual([
      ['1. Page view of /pricing', '4', '100%', '–', '–', '–', '–'],
      ['2. signup', '2', '50%', '50%', '2', '3m 00s', '3m 00s'],
      ['3. purchase', '1', '25%', '50%', '1', '1m 00s', '1m 00s'],
    ]);
    expect(await page.textContent('#funnel-summary')).toContain('within 5 minutes');

    // By session (14 days again): b bought in another session.
    await page.fill('#funnel-window', '14');
    await page.selectOption('#funnel-window-unit', 'd');
    await page.selectOption('#funnel-by', 'session');
    await submit(page, 'funnel', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '3', '1']);
    expect(await page.textContent('#funnel-summary')).toBe(
      '4 entered, 1 completed (25%) · within 14 days · by session',
    );

    // Removing step 3 leaves two; at two, neither can be removed.
    await page.getByRole('button', { name: 'Remove step 3', exact: true }).click();
    expect(await page.locator('#funnel-steps li').count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Remove step 1' }).isDisabled()).toBe(true);
    await page.selectOption('#funnel-by', 'visitor');
    await submit(page, 'funnel', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '3']);

    // The stats period moves the funnel with it: nobody viewed /pricing on Nov 23.
    await page.selectOption('#stats-period', 'yesterday');
    await shown(page, 'funnel', '2025-11-23');
    // No rate over no one: "–", not 0%, from the start and from the previous step alike.
    expect(await funnelRows(page)).toEqual([
      ['1. Page view of /pricing', '0', '–', '–', '–', '–', '–'],
      ['2. signup', '0', '–', '–', '0', '–', '–'],
    ]);
    expect(await noteOf(page, 'funnel')).toBe(
      'No one did step 1 in this period: nothing to convert.',
    );
    expect(await page.textContent('#funnel-summary')).toStartWith('0 entered, 0 completed (–)');
    expect(refused).toEqual([]);
  }, 60_000);

  test('broken down by a column or a property: a row per value, (none) last', async () => {
    const server = await serve();
    const { page, refused } = await openPage(server);
    expect(await page.isHidden('#funnel-breakdown-key')).toBe(true);
    await page.click('#funnel-add');
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
      ['name', 'purchase'],
    ]);
    const breakdownRows = () =>
      page.$$eval('#funnel-breakdown-table tr', (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (c) => c.textContent)),
      );
    // By source: a (all three) and c (signed up) from ios; b (all three) and d (none) without.
    await page.getByLabel('Break down by').selectOption('source');
    await submit(page, 'funnel', '2025-11-24');
    expect(await breakdownRows()).toEqual([
      ['Value', 'Step 1', 'Step 2', 'Step 3', 'Conversion'],
      ['ios', '2', '2', '1', '50%'],
      ['(none)', '2', '1', '1', '50%'],
    ]);
    // The funnel itself is as without a breakdown.
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '3', '2']);
    // By the property plan, typed in the field shown for it.
    await page.getByLabel('Break down by').selectOption('property');
    await page.getByLabel('Property key').fill('plan');
    await submit(page, 'funnel', '2025-11-24');
    expect(await breakdownRows()).toEqual([
      ['Value', 'Step 1', 'Step 2', 'Step 3', 'Conversion'],
      ['pro', '2', '2', '2', '100%'],
      ['(none)', '2', '1', '0', '0%'],
    ]);
    expect(await page.textContent('#funnel-breakdown-summary')).toBe(
      'By property:plan: each actor under the value of its step-1 event',
    );
    // No key: the API's 422 is shown, and no breakdown of the last answer stays on screen.
    await page.getByLabel('Property key').fill('');
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForSelector('#funnel-note.error', { timeout: 10_000 });
    expect(await noteOf(page, 'funnel')).toContain('breakdown must be one of os, browser');
    expect(await page.isHidden('#funnel-breakdown-table')).toBe(true);
    expect(await page.isHidden('#funnel-table')).toBe(true);
    await page.getByLabel('Property key').fill('plan');
    await submit(page, 'funnel', '2025-11-24');
    expect(await page.isVisible('#funnel-breakdown-table')).toBe(true);
    // Nothing to break down by: no breakdown table.
    await page.getByLabel('Break down by').selectOption('');
    expect(await page.isHidden('#funnel-breakdown-key')).toBe(true);
    await submit(page, 'funnel', '2025-11-24');
    expect(await page.isHidden('#funnel-breakdown-table')).toBe(true);
    expect(await page.isVisible('#funnel-table')).toBe(true);
    expect(refused).toEqual([]);
  }, 60_000);

  test("a refused funnel shows the API's rule and the field it names", async () => {
    const server = await serve();
    const { page, statuses } = await openPage(server);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', ''],
    ]);
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForSelector('#funnel-note.error', { timeout: 10_000 });
    expect(statuses).toEqual([422]);
    expect(await noteOf(page, 'funnel')).toBe(
      'The funnel was not read: Step 2: the name of a step must not be empty',
    );
    expect(await page.getAttribute('#funnel-note', 'role')).toBe('alert');
    expect(await page.isHidden('#funnel-table')).toBe(true);

    await page.getByLabel('Step 2', { exact: true }).fill('signup');
    await page.fill('#funnel-window', '400');
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForFunction(
      () => /400d/.test(document.querySelector('#funnel-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(await noteOf(page, 'funnel')).toBe(
      'The funnel was not read: Conversion window: window is a whole number and a unit, ' +
        's, m, h, d or w (30m, 14d), from 1s to 365d (got "400d")',
    );
    // Fixed, it reads: the error goes.
    await page.fill('#funnel-window', '365');
    await submit(page, 'funnel', '2025-11-24');
    expect(await page.getAttribute('#funnel-note', 'class')).toBe('note');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '3']);
  }, 60_000);

  test('the form holds 2 to 20 steps', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    for (let i = 2; i < 20; i++) await page.click('#funnel-add');
    expect(await page.locator('#funnel-steps li').count()).toBe(20);
    expect(await page.isDisabled('#funnel-add')).toBe(true);
    expect(await page.getByLabel('Step 20', { exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Remove step 7', exact: true }).click();
    expect(await page.isDisabled('#funnel-add')).toBe(false);
    expect(await page.getByLabel('Step 20', { exact: true }).count()).toBe(0);
  }, 60_000);

  test('a funnel read refused with 429 is shown as busy and retried without a click', async () => {
    const server = await serve();
    const { page, statuses } = await openPage(server);
    await shownStats(page);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'purchase'],
    ]);
    const free = holdReads(server, ALL_PLACES, cleanups);
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForFunction(
      () => /busy/.test(document.querySelector('#funnel-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(statuses).toEqual([429]);
    expect(await page.isHidden('#auth')).toBe(true);
    await free();
    await shown(page, 'funnel', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '2']);
  }, 60_000);
});

const shownStats = (page: Page) =>
  page.waitForSelector(`#stats[data-shown="${NY} 2025-11-24/2025-11-24"]`, { timeout: 10_000 });

describe('the retention panel', () => {
  test('daily cohorts of the last 7 days: the triangle, first time, weeks', async () => {
    const server = await serve();
    const { page, refused } = await openPage(server);
    await page.selectOption('#stats-period', '7d');
    await page.selectOption('#retention-start-kind', 'name');
    await page.getByLabel('Start event name or path').fill('open_app');
    await page.selectOption('#retention-by', 'user');
    await submit(page, 'retention', '2025-11-18', '2025-11-24');
    // r2's 22:00 on Nov 20 is Nov 20 in New York: day 2 of the Nov 18 cohort.
    expect(await retention(page)).toEqual({
      heads: ['Cohort', 'Size', ...[0, 1, 2, 3, 4, 5, 6].map((k) => `Day ${k}`)],
      rows: [
        ['Tue, Nov 18, 2025', '2', '100%', '50%', '50%', '50%', '0%', '0%', '0%'],
        ['Wed, Nov 19, 2025', '2', '100%', '50%', '50%', '0%', '0%', '0%', ''],
        ['Thu, Nov 20, 2025', '2', '100%', '0%', '0%', '0%', '0%', '', ''],
        ['Fri, Nov 21, 2025', '1', '100%', '0%', '0%', '0%', '', '', ''],
        ['Sat, Nov 22, 2025', '0', '–', '–', '–', '', '', '', ''],
        ['Sun, Nov 23, 2025', '0', '–', '–', '', '', '', '', ''],
        ['Mon, Nov 24, 2025', '1', '100%', '', '', '', '', '', ''],
      ],
    });
    expect(await page.getAttribute('#retention-table tbody tr td:nth-of-type(3)', 'title')).toBe(
      '1 of 2',
    );
    // The count is not the pointer's alone: each cell's accessible name reads it with the share.
    const firstRow = page.locator('#retention-table tbody tr').first();
    const names: string[] = [];
    for (const cell of await firstRow.getByRole('cell').all()) {
      names.push((await cell.ariaSnapshot()).replace(/^- cell "?(.*?)"?$/, '$1'));
    }
    expect(names).toEqual([
      '2',
      '100% (2 of 2)',
      '50% (1 of 2)',
      '50% (1 of 2)',
      '50% (1 of 2)',
      '0% (0 of 2)',
      '0% (0 of 2)',
      '0% (0 of 2)',
    ]);
    expect(await page.getByRole('cell', { name: '50% (1 of 2)', exact: true }).count()).toBe(5);
    // Shaded by share: a full cell more than a half one, none for 0%.
    const shades = await page.$$eval('#retention-table tbody tr:first-child td', (tds) =>
      tds.map((td) => (td as HTMLElement).style.getPropertyValue('--shade')),
    );
    expect(shades).toEqual(['', '1', '0.54', '0.54', '0.54', '0', '0', '0']);
    expect(await page.textContent('#retention-summary')).toBe(
      `Recurring cohorts by day, by user · ${NY}`,
    );
    expect(await page.locator('#retention-table th[scope="row"]').count()).toBe(7);

    // First time: r3 first came on Nov 19 and returned on Nov 20; r1 and r2 are Nov 18's.
    await page.selectOption('#retention-cohort', 'first');
    await submit(page, 'retention', '2025-11-18', '2025-11-24');
    const firstRows = (await retention(page)).rows;
    expect(firstRows[0]).toEqual([
      'Tue, Nov 18, 2025',
      '2',
      '100%',
      '50%',
      '50%',
      '50%',
      '0%',
      '0%',
      '0%',
    ]);
    expect(firstRows[1]).toEqual([
      'Wed, Nov 19, 2025',
      '1',
      '100%',
      '100%',
      '0%',
      '0%',
      '0%',
      '0%',
      '',
    ]);
    expect(firstRows[2]?.slice(0, 3)).toEqual(['Thu, Nov 20, 2025', '0', '–']);

    // Weeks from Monday: Nov 17's cohort (r1, r2, r3), none of whom came in the week of Nov 24.
    await page.selectOption('#retention-cohort', 'recurring');
    await page.selectOption('#retention-period', 'week');
    await submit(page, 'retention', '2025-11-18', '2025-11-24');
    expect(await retention(page)).toEqual({
      heads: ['Cohort', 'Size', 'Week 0', 'Week 1'],
      rows: [
        ['Week of Nov 17, 2025', '3', '100%', '0%'],
        ['Week of Nov 24, 2025', '1', '100%', ''],
      ],
    });
    expect(refused).toEqual([]);
  }, 60_000);

  test('page views by default over Today; a refused read shows the rule', async () => {
    const server = await serve();
    const { page, statuses } = await openPage(server);
    await submit(page, 'retention', '2025-11-24');
    // a, b, c and d viewed /pricing that day.
    expect(await retention(page)).toEqual({
      heads: ['Cohort', 'Size', 'Day 0'],
      rows: [['Mon, Nov 24, 2025', '4', '100%']],
    });
    // A start event named by nothing: the API's rule, the field named.
    await page.selectOption('#retention-start-kind', 'path');
    await page.click('#retention-form button[type="submit"]');
    await page.waitForSelector('#retention-note.error', { timeout: 10_000 });
    expect(statuses).toEqual([200, 422]);
    expect(await noteOf(page, 'retention')).toStartWith(
      'The retention was not read: Start event: ',
    );
    expect(await page.isHidden('#retention-table')).toBe(true);
    // Nobody on Nov 23: an empty triangle says so.
    await page.getByLabel('Start event name or path').fill('/pricing');
    await page.selectOption('#stats-period', 'yesterday');
    await page.click('#retention-form button[type="submit"]');
    await shown(page, 'retention', '2025-11-23');
    expect(await noteOf(page, 'retention')).toBe('No one did the start event in this period.');
  }, 60_000);

  test('a retention read answered 401 with no sign-in to refresh asks for a key', async () => {
    const tenancy: TenantResolver = {
      forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
      forRead: (request) => {
        const token = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        // The cohorts read alone is refused: the page's probe, socket and other reads pass.
        if (token !== 'rk_acme' || new URL(request.url).pathname === '/api/v1/cohorts') {
          throw new AppError('unauthorized', 'a read key is needed');
        }
        return DEFAULT_TENANT;
      },
    };
    const server = await serve(tenancy);
    const { page, statuses } = await openPage(server, false);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.fill('#key', 'rk_acme');
    await page.click('#key-form button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.click('#retention-form button[type="submit"]');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(statuses).toEqual([401]);
    expect(await page.isHidden('#main')).toBe(true);
  }, 60_000);
});

/**
 * Holds the first request of the page that `matches` until `release()`: `seen` resolves once
 * it is sent (later ones pass).
 */
async function holdRequest(page: Page, matches: (url: URL) => boolean) {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let sent: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => {
    sent = resolve;
  });
  let held = false;
  await page.route(matches, async (route) => {
    if (held) return route.fallback();
    held = true;
    sent();
    await released;
    await route.fallback();
  });
  cleanups.push(() => release());
  return { seen, release };
}

describe('what the panels show while another read runs', () => {
  test("another period hides the last one's funnel and cohorts until its own come", async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    await submit(page, 'retention', '2025-11-24');
    const yesterday = (path: string) => (url: URL) =>
      url.pathname === path && url.searchParams.get('date') === '2025-11-23';
    const funnel = await holdRequest(page, yesterday('/api/v1/funnel'));
    const cohorts = await holdRequest(page, yesterday('/api/v1/cohorts'));
    await page.selectOption('#stats-period', 'yesterday');
    await Promise.all([funnel.seen, cohorts.seen]);
    // The titles name Nov 23: Nov 24's figures are not shown under them.
    expect(await page.textContent('#funnel-days')).toBe(`Sun, Nov 23, 2025 · ${NY}`);
    expect(await page.isHidden('#funnel-table')).toBe(true);
    expect(await page.isHidden('#retention-table')).toBe(true);
    funnel.release();
    cohorts.release();
    await shown(page, 'funnel', '2025-11-23');
    await shown(page, 'retention', '2025-11-23');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['0', '0']);
    expect((await retention(page)).rows).toEqual([['Sun, Nov 23, 2025', '0', '–']]);
  }, 60_000);

  test('at midnight the funnel and cohorts of Today are read for the new day, as the stats', async () => {
    const server = await serve();
    const browser = await chromiumFor(cleanups);
    const page = await browser.context.newPage();
    // 23:59:30 on Nov 24 in New York; the page's clock runs from there.
    await page.clock.install({ time: '2025-11-25T04:59:30Z' });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.selectOption('#tz', NY);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    await submit(page, 'retention', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['4', '3']);
    // A minute on: Nov 25 in New York. The stats panel reads its new Today, and so do these.
    await page.clock.runFor(61_000);
    await page.waitForSelector(`#stats[data-shown="${NY} 2025-11-25/2025-11-25"]`, {
      timeout: 10_000,
    });
    await shown(page, 'funnel', '2025-11-25');
    await shown(page, 'retention', '2025-11-25');
    expect(await page.textContent('#funnel-days')).toBe(`Tue, Nov 25, 2025 · ${NY}`);
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['0', '0']);
  }, 60_000);

  test('a funnel retry waiting for a busy server is dropped when another project is picked', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await shownStats(page);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'purchase'],
    ]);
    const free = holdReads(server, ALL_PLACES, cleanups);
    // The page's timers run only when told from here: the retry is not sent before the project
    // is picked, however long the steps between take (else it is, and counted below).
    await page.clock.pauseAt(Date.parse(NOW));
    await page.click('#funnel-form button[type="submit"]');
    await page.waitForFunction(
      () => /busy/.test(document.querySelector('#funnel-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    // Another project, whose check of access is answered busy for a minute: nothing of it is
    // read before it is checked, not even by the last project's retry (due in 1 s).
    await page.route(/\/api\/v1\/stats\?/, (route) =>
      new URL(route.request().url()).searchParams.has('tz')
        ? route.fallback()
        : route.fulfill({
            status: 503,
            headers: { 'retry-after': '60' },
            contentType: 'application/json',
            body: JSON.stringify({ detail: 'overloaded', code: 'overloaded' }),
          }),
    );
    const funnels: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/funnel')) funnels.push(r.url());
    });
    await page.fill('#project', 'shop');
    await page.dispatchEvent('#project', 'change');
    await page.waitForSelector('#status[data-state="busy"]', { timeout: 10_000 });
    await free();
    await page.clock.runFor(2500); // past the retry's 1 s
    await Bun.sleep(1500); // a read sent would be seen by now
    expect(funnels).toEqual([]);
    expect(await page.isHidden('#funnel-table')).toBe(true);
  }, 60_000);

  test("another project shows none of the last one's answers, even one read before", async () => {
    const server = await serve();
    expect((await server.post('/api/v1/events', { name: 'x', tenant_id: 'other' })).status).toBe(
      202,
    );
    const { page } = await openPage(server);
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    await submit(page, 'retention', '2025-11-24');
    // A funnel read of the default project in flight, then project "other" picked: its access
    // check (the probe, a stats read without tz) is held while the funnel read answers.
    const funnel = await holdRequest(
      page,
      (url) => url.pathname === '/api/v1/funnel' && !url.searchParams.has('tenant_id'),
    );
    const probe = await holdRequest(
      page,
      (url) =>
        url.pathname === '/api/v1/stats' &&
        url.searchParams.get('tenant_id') === 'other' &&
        !url.searchParams.has('tz'),
    );
    await page.click('#funnel-form button[type="submit"]');
    await funnel.seen;
    await page.fill('#project', 'other');
    await page.locator('#project').dispatchEvent('change');
    await probe.seen;
    expect(await page.isHidden('#funnel-table')).toBe(true);
    expect(await page.isHidden('#retention-table')).toBe(true);
    // The default project's funnel answers now, under project "other": it is not shown.
    funnel.release();
    await page.waitForSelector('#funnel[aria-busy="false"]', { timeout: 10_000 });
    expect(await page.isHidden('#funnel-table')).toBe(true);
    expect(await page.getAttribute('#funnel', 'data-shown')).toBeNull();
    // Project other's own answers, read once its access is checked.
    probe.release();
    await shown(page, 'funnel', '2025-11-24');
    await shown(page, 'retention', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row[1])).toEqual(['0', '0']);
    expect((await retention(page)).rows).toEqual([['Mon, Nov 24, 2025', '0', '–']]);
  }, 60_000);
});

describe('names and paths as typed', () => {
  test('URL and HTML characters reach the API as typed and are shown as text', async () => {
    const server = await serve();
    const odd = {
      path: '/café & co/#1?x=y',
      name: 'plan:pro & more #1 ü <img src=x id=injected>',
    };
    const events = [
      { name: 'page_view', path: odd.path, user_id: 'u1', timestamp: at('24T16:00') },
      { name: odd.name, user_id: 'u1', timestamp: at('24T16:01') },
    ];
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    const { page } = await openPage(server);
    await fillSteps(page, [
      ['path', odd.path],
      ['name', odd.name],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    expect((await funnelRows(page)).map((row) => row.slice(0, 2))).toEqual([
      [`1. Page view of ${odd.path}`, '1'],
      [`2. ${odd.name}`, '1'],
    ]);
    await page.selectOption('#retention-start-kind', 'name');
    await page.getByLabel('Start event name or path').fill(odd.name);
    await submit(page, 'retention', '2025-11-24');
    expect((await retention(page)).rows).toEqual([['Mon, Nov 24, 2025', '1', '100%']]);
    expect(await page.locator('#injected').count()).toBe(0);
  }, 60_000);
});

describe('the funnel form by keyboard', () => {
  test('a removed step leaves the focus on the steps; a path step asks for a path', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await page.click('#funnel-add');
    await page.click('#funnel-add');
    // The added step asks for an event name, and for a path once it matches a path.
    const step4 = page.getByLabel('Step 4', { exact: true });
    expect(await step4.getAttribute('placeholder')).toBe('signup');
    await page.getByLabel('Step 4 matches', { exact: true }).selectOption('path');
    expect(await step4.getAttribute('placeholder')).toBe('/pricing');
    // Enter on "Remove step 3": the focus moves to the step now third, not to the page.
    await page.getByRole('button', { name: 'Remove step 3', exact: true }).focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#funnel-steps li').count()).toBe(3);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('funnel-step-3');
    // Removing the last step moves it to the step now last.
    await page.getByRole('button', { name: 'Remove step 3', exact: true }).focus();
    await page.keyboard.press('Space');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('funnel-step-2');
  }, 60_000);
});

describe('on reload', () => {
  test('the forms and selectors start afresh; the project is kept for the tab', async () => {
    const server = await serve();
    const { page } = await openPage(server, false);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    /** Every control of the page but the prompt's (key, email, password): id and value. */
    const controls = () =>
      page.$$eval('input[id], select[id]', (els) =>
        els
          .filter((el) => !['key', 'email', 'password'].includes(el.id))
          .map((el): [string, string] => [el.id, (el as HTMLInputElement).value]),
      );
    const fresh = await controls();
    await page.selectOption('#tz', NY);
    await page.selectOption('#stats-period', '7d');
    await fillSteps(page, [
      ['path', '/typed'],
      ['name', 'typed'],
    ]);
    await page.fill('#funnel-window', '3');
    await page.selectOption('#funnel-window-unit', 'h');
    await page.selectOption('#retention-period', 'week');
    await page.fill('#retention-periods', '4');
    await page.selectOption('#paths-window', '1m');
    await page.selectOption('#series-bucket', 'minute');
    await page.fill('#project', 'acme');
    await page.dispatchEvent('#project', 'change');
    const changed = new Map(await controls());
    expect(fresh.filter(([id, value]) => changed.get(id) !== value).map(([id]) => id)).toEqual([
      'project',
      'tz',
      'stats-period',
      'funnel-step-1',
      'funnel-step-2',
      'funnel-window',
      'funnel-window-unit',
      'retention-period',
      'retention-periods',
      'paths-window',
      'series-bucket',
    ]);
    await page.reload();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // What was typed or picked is gone, but the project, kept with the credential.
    expect(await controls()).toEqual(
      fresh.map(([id, value]) => [id, id === 'project' ? 'acme' : value]),
    );
  }, 60_000);
});

/** WCAG's relative luminance of an sRGB colour, 0-255 a channel. */
function luminance([r, g, b]: number[]): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r ?? 0) + 0.7152 * lin(g ?? 0) + 0.0722 * lin(b ?? 0);
}

function contrast(a: number[], b: number[]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('retention shades', () => {
  test('every shaded cell keeps AA contrast (4.5:1), light and dark', async () => {
    const server = await serve();
    // 20 users come on Nov 22, 19 of them on Nov 23, 16 on Nov 24: 95%, 84% and 80% cells.
    const users = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const come = (day: string, who: string[]) =>
      who.map((user) => ({ name: 'open_mobile', user_id: user, timestamp: at(`${day}T17:00`) }));
    const events = [
      ...come('22', users),
      ...come('23', users.slice(0, 19)),
      ...come('24', users.slice(0, 16)),
    ];
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    const { page } = await openPage(server);
    await page.selectOption('#stats-period', '7d');
    await page.selectOption('#retention-start-kind', 'name');
    await page.getByLabel('Start event name or path').fill('open_mobile');
    await page.selectOption('#retention-by', 'user');
    await submit(page, 'retention', '2025-11-18', '2025-11-24');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const cells = await page.$$eval('#retention-table td.retention-cell:not(.none)', (tds) => {
        const channels = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
        const panel = channels(
          getComputedStyle(document.querySelector('#retention') as Element).backgroundColor,
        );
        return tds.map((td) => {
          const style = getComputedStyle(td);
          // color-mix(… transparent) is the accent at an alpha, drawn over the panel.
          const [r = 0, g = 0, b = 0, alpha = 1] = channels(
            style.backgroundColor.replace('srgb', ''),
          );
          const scale = /^color\(/.test(style.backgroundColor) ? 255 : 1;
          const bg = [r, g, b].map((c, i) => c * scale * alpha + (panel[i] ?? 0) * (1 - alpha));
          const text = td.firstChild?.textContent;
          return { text, bg, ink: channels(style.color).slice(0, 3) };
        });
      });
      expect(cells.map((c) => c.text)).toContain('80%');
      expect(cells.map((c) => c.text)).toContain('95%');
      for (const cell of cells) {
        const ratio = contrast(cell.bg, cell.ink);
        expect(`${scheme} ${cell.text} ${ratio >= 4.5}`).toBe(`${scheme} ${cell.text} true`);
      }
    }
  }, 60_000);
});

describe('on a narrow screen', () => {
  test('a breakdown at 320 px: its values stay readable, the table scrolls sideways', async () => {
    const server = await serve();
    // e views /pricing on a plan with a long name: 250 characters, spaces between its words.
    const long = 'enterprise-annual-plan '.repeat(11).trim();
    const events = [
      { name: 'page_view', path: '/pricing', user_id: 'e', timestamp: at('24T15:50') },
    ].map((event) => ({ ...event, properties: { plan: long } }));
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    const { page } = await openPage(server);
    await page.setViewportSize({ width: 320, height: 800 });
    await page.click('#funnel-add');
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
      ['name', 'purchase'],
    ]);
    await page.getByLabel('Break down by').selectOption('property');
    await page.getByLabel('Property key').fill('plan');
    await submit(page, 'funnel', '2025-11-24');
    // Each value's header: its text and the lines it is set on.
    const heads = await page.$$eval('#funnel-breakdown-table tr > th:first-child', (ths) =>
      ths.map((th) => {
        const range = document.createRange();
        range.selectNodeContents(th);
        return [(th.textContent ?? '').slice(0, 10), range.getClientRects().length];
      }),
    );
    // "Value", "pro" and "(none)" on one line each, the long value on a few: not a column one
    // letter wide, where each value stood thousands of pixels tall.
    expect(heads.slice(0, 3)).toEqual([
      ['Value', 1],
      ['pro', 1],
      ['(none)', 1],
    ]);
    expect(heads[3]?.[0]).toBe('enterprise');
    expect(heads[3]?.[1]).toBeLessThanOrEqual(20);
    // The table scrolls within its box; the page does not.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      320,
    );
  }, 60_000);

  test('the funnel and retention forms fit 320 px: only their tables scroll, sideways', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await page.setViewportSize({ width: 320, height: 800 });
    await page.click('#funnel-add');
    await fillSteps(page, [
      ['path', '/pricing'],
      ['name', 'signup'],
      ['name', 'purchase'],
    ]);
    await submit(page, 'funnel', '2025-11-24');
    await page.selectOption('#stats-period', '30d');
    await page.selectOption('#retention-start-kind', 'name');
    await page.selectOption('#retention-return-kind', 'path');
    await page.getByLabel('Start event name or path').fill('open_app');
    await page.getByLabel('Return event name or path').fill('/pricing');
    await page.selectOption('#retention-period', 'day');
    await page.fill('#retention-periods', '30');
    await submit(page, 'retention', '2025-10-26', '2025-11-24');
    const overflow = await page.evaluate(() => {
      const wide = (el: Element) => el.getBoundingClientRect().right > innerWidth + 0.5;
      const inScroll = (el: Element) => el.closest('.scroll') !== null;
      const sections = ['#funnel', '#retention'].map((id) => document.querySelector(id));
      // Form parts or panels wider than the screen (the tables scroll within their box).
      return sections.flatMap((section) =>
        Array.from(section?.querySelectorAll('*') ?? [])
          .filter((el) => wide(el) && !inScroll(el))
          .map((el) => el.id || el.tagName),
      );
    });
    expect(overflow).toEqual([]);
    // Nor does the page: the cells' screen-reader counts stay clipped by their table's box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      320,
    );
  }, 60_000);
});
