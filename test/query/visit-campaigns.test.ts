// The campaign lists of getStats, as Plausible's Campaigns tabs: each campaign tag of a visit's
// entry URL (utm_medium, utm_source — else source, else ref —, utm_campaign, utm_content,
// utm_term), decoded and trimmed, with its visitors and visits, by visitors then visits then
// value, the top N; visits without the tag (or with it empty) are left out; filters apply.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, type VisitScope, visitScopeOf } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const HOUR = 3_600_000;
const SITE = 'https://shop.example';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

/** A visit of `visitor` `hours` after T entering at `/?query`, then a second page. */
const visit = (visitor: string, hours: number, query: string): StoredEvent[] => [
  makeEvent({
    timestamp: T + hours * HOUR,
    visitor_id: visitor,
    path: '/',
    url: `${SITE}/?${query}`,
  }),
  makeEvent({
    timestamp: T + hours * HOUR + 1000,
    visitor_id: visitor,
    path: '/p',
    url: `${SITE}/p`,
  }),
];

const campaigns = async (top = 10, visits?: VisitScope) => {
  const s = await getStats(source, 'acme', { filters: {}, top, visits });
  return {
    mediums: s.top_utm_mediums.map((r) => [r.utm_medium, r.visitors, r.visits]),
    sources: s.top_utm_sources.map((r) => [r.utm_source, r.visitors, r.visits]),
    campaigns: s.top_utm_campaigns.map((r) => [r.utm_campaign, r.visitors, r.visits]),
    contents: s.top_utm_contents.map((r) => [r.utm_content, r.visitors, r.visits]),
    terms: s.top_utm_terms.map((r) => [r.utm_term, r.visitors, r.visits]),
  };
};

describe('campaign lists', () => {
  beforeEach(async () => {
    await source.add([
      // v1 twice with the same tags: one visitor, two visits.
      ...visit('v1', 0, 'utm_medium=email&utm_source=news&utm_campaign=spring+sale&utm_term=a'),
      ...visit('v1', 2, 'utm_medium=email&utm_source=news&utm_campaign=spring+sale&utm_term=a'),
      ...visit('v2', 0, 'utm_medium=email&utm_campaign=spring%20sale&utm_content=hero'),
      ...visit('v3', 0, 'utm_medium=cpc&source=ads&utm_content=%20side%20'),
      ...visit('v4', 0, 'ref=partner&utm_medium=&utm_term='),
      ...visit('v5', 0, 'x=1'),
      makeEvent({ timestamp: T, visitor_id: 'v6', path: '/' }),
      ...visit('bot', 0, 'utm_medium=bots').map((e) => ({ ...e, is_bot: true })),
    ]);
  });

  test('by visitors, then visits, then value; visits without the tag left out', async () => {
    expect(await campaigns()).toEqual({
      mediums: [
        ['email', 2, 3],
        ['cpc', 1, 1],
      ],
      sources: [
        ['news', 1, 2],
        ['ads', 1, 1],
        ['partner', 1, 1],
      ],
      campaigns: [['spring sale', 2, 3]],
      contents: [
        ['hero', 1, 1],
        ['side', 1, 1],
      ],
      terms: [['a', 1, 2]],
    });
  });

  test('the top N of each, and the visits a visit filter keeps', async () => {
    const top1 = await campaigns(1);
    expect([top1.mediums, top1.sources]).toEqual([[['email', 2, 3]], [['news', 1, 2]]]);
    const cpc = await campaigns(10, visitScopeOf({ utm_medium: 'cpc' }));
    expect(cpc).toEqual({
      mediums: [['cpc', 1, 1]],
      sources: [['ads', 1, 1]],
      campaigns: [],
      contents: [['side', 1, 1]],
      terms: [],
    });
  });
});

test('a tag given twice is its first value in the lists, the visit filters and the source', async () => {
  // README (Limits): "of a parameter given twice the first counts (Plausible keeps the last)".
  await source.add([
    ...visit('v1', 0, 'utm_medium=first&utm_source=one&utm_medium=second&utm_source=two'),
    ...visit('v2', 0, 'x=1&ref=early&y=2&ref=late'),
  ]);
  expect((await campaigns()).mediums).toEqual([['first', 1, 1]]);
  const kept = await campaigns(10, visitScopeOf({ utm_medium: 'first' }));
  expect(kept.mediums).toEqual([['first', 1, 1]]);
  expect((await campaigns(10, visitScopeOf({ utm_medium: 'second' }))).mediums).toEqual([]);
  const stats = await getStats(source, 'acme', { filters: {}, top: 10 });
  expect(stats.top_referrer_sources.map((r) => r.source).sort()).toEqual(['early', 'one']);
});
