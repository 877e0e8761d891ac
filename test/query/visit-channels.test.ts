// getStats' top_channels, as Plausible's Channels tab: each visit credited once to the channel
// of its source and its first event's url (utm tags, click ids), ranked by visitors, then
// visits, then name; filters keep the visits holding a match; bots are left out.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, type StatsOptions } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const MIN = 60_000;
const SITE = 'https://shop.example';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const channelsOf = async (filters: StatsOptions['filters'] = {}, top = 10) => {
  const s = await getStats(source, 'acme', { filters, top });
  return s.top_channels.map((r) => [r.channel, r.visitors, r.visits]);
};

/** A page view of `visitor` (no session id) `minutes` after T. */
const view = (visitor: string, minutes: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, path: '/', ...fields });

/**
 * Visits of seven visitors and a bot:
 * - v1: from Google, then (an hour later, a new visit) from Google again with a gclid: Organic
 *   Search, then Paid Search;
 * - v2: from Google too (Organic Search); then a signup in that visit;
 * - v3: utm_source=newsletter&utm_medium=email, then a page from Reddit in the same visit (the
 *   first event decides): Email;
 * - v4: from old.reddit.com: Organic Social; v5: no referrer: Direct;
 * - v6: utm_source=facebook&utm_medium=cpc: Paid Social; v7: from a blog: Referral;
 * - the bot from Google.
 */
function visits(): StoredEvent[] {
  const google = { referrer: 'https://www.google.com/' };
  return [
    view('v1', 0, { ...google, url: `${SITE}/` }),
    view('v1', 60, { ...google, url: `${SITE}/?gclid=Cj0KCQ` }),
    view('v2', 1, { ...google, url: `${SITE}/` }),
    view('v2', 2, { name: 'signup', path: '/signup', url: `${SITE}/signup` }),
    view('v3', 3, { url: `${SITE}/?utm_source=newsletter&utm_medium=email` }),
    view('v3', 4, { referrer: 'https://reddit.com/', url: `${SITE}/pricing`, path: '/pricing' }),
    view('v4', 5, { referrer: 'https://old.reddit.com/r/x', url: `${SITE}/` }),
    view('v5', 6, { url: `${SITE}/` }),
    view('v6', 7, { url: `${SITE}/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring` }),
    view('v7', 8, { referrer: 'https://blog.example.org/post', url: `${SITE}/` }),
    view('bot', 9, { ...google, url: `${SITE}/`, is_bot: true, device: 'bot' }),
  ];
}

describe('top_channels', () => {
  test("each visit in its channel, as Plausible's Channels tab", async () => {
    await source.add(visits());
    expect(await channelsOf()).toEqual([
      ['Organic Search', 2, 2],
      ['Direct', 1, 1],
      ['Email', 1, 1],
      ['Organic Social', 1, 1],
      ['Paid Search', 1, 1],
      ['Paid Social', 1, 1],
      ['Referral', 1, 1],
    ]);
  });

  test('top N; filters keep the visits with a matching event; bots when included', async () => {
    await source.add(visits());
    expect(await channelsOf({}, 2)).toEqual([
      ['Organic Search', 2, 2],
      ['Direct', 1, 1],
    ]);
    // v2's visit holds the signup: its channel is its first event's.
    expect(await channelsOf({ equals: { name: 'signup' } })).toEqual([['Organic Search', 1, 1]]);
    // v3's Reddit page is not its visit's source.
    expect(await channelsOf({ equals: { path: '/pricing' } })).toEqual([['Email', 1, 1]]);
    expect((await channelsOf({ includeBots: true }))[0]).toEqual(['Organic Search', 3, 3]);
  });

  test("the source tag is utm_source, else source, else ref, as Plausible's utm_source", async () => {
    await source.add([
      view('a', 0, { url: `${SITE}/?ref=newsletter` }),
      view('b', 1, { url: `${SITE}/?source=sms` }),
      view('c', 2, { url: `${SITE}/?source=fb-ads`, referrer: 'https://www.facebook.com/' }),
      view('d', 3, { url: `${SITE}/?ref=gads&utm_medium=`, referrer: 'https://www.google.com/' }),
      view('e', 4, { url: `${SITE}/?utm_source=&ref=Weekly-Newsletter` }),
    ]);
    expect(await channelsOf()).toEqual([
      ['Email', 2, 2],
      ['Paid Search', 1, 1],
      ['Paid Social', 1, 1],
      ['SMS', 1, 1],
    ]);
  });

  test('an empty range has no channels', async () => {
    expect(await channelsOf()).toEqual([]);
  });
});
