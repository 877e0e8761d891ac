// The dashboard's Countries table in Chromium against the real server with a GeoIP database
// (GEOIP_DB): events sent with client addresses in the UK, Sweden and a private network, and
// the table listing each country by name and code with its visitors and events; without a
// database, the table says there are none.

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { CountryDb } from '../../src/engine/index.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const cleanups = cleanupsAfterEach();

/** The browser's now: noon UTC on Nov 25, 2025; the events are an hour before. */
const NOW = '2025-11-25T12:00:00Z';

async function serve(withCountries: boolean): Promise<LiveServer> {
  const geo = makeTempDir('tally-geoip-');
  cleanups.push(geo.remove);
  const countries = withCountries ? CountryDb.open(writeTestCountryDb(geo.dir)) : null;
  const server = await serveFor(cleanups, undefined, { engine: { countries } });
  const view = (user: string, ip: string) => ({
    name: 'page_view',
    path: '/',
    user_id: user,
    ip,
    timestamp: '2025-11-25T11:00:00Z',
  });
  const events = [
    view('ann', '81.2.69.160'),
    view('ann', '81.2.69.160'),
    view('ben', '81.2.69.7'),
    view('cat', '89.160.20.112'),
    view('dan', '10.0.0.1'),
  ];
  const res = await server.post('/api/v1/events/batch', { events });
  expect(res.status).toBe(202);
  return server;
}

async function countriesShown(server: LiveServer): Promise<string[][]> {
  const browser = await chromiumFor(cleanups);
  const page: Page = await browser.context.newPage();
  await page.clock.setFixedTime(NOW);
  await page.goto(`${server.url}/dashboard`);
  await page.selectOption('#tz', 'UTC');
  await page.waitForSelector('#stats[data-shown="UTC 2025-11-25/2025-11-25"]', {
    timeout: 10_000,
  });
  return page.$$eval('#stats-countries tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
  );
}

describe('the Countries table', () => {
  test('lists countries by name and code, with visitors and events', async () => {
    const server = await serve(true);
    expect(await countriesShown(server)).toEqual([
      ['United Kingdom (GB)', '2', '3'],
      ['Sweden (SE)', '1', '1'],
    ]);
  });

  test('without a GeoIP database it has no countries to show', async () => {
    const server = await serve(false);
    expect(await countriesShown(server)).toEqual([['No countries in this period']]);
  });
});
