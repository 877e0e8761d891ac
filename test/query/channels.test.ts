// Acquisition channels, rule by rule as Plausible orders them (channelOf), the source
// categories they read, and the SQL the reads use (channel-sql.ts) agreeing with channelOf on
// visits given as a source and an entry URL.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { channelPartsSql, channelSourceFrom, channelSql } from '../../src/query/channel-sql.ts';
import { CHANNEL_RULES, CHANNELS, type ChannelInput, channelOf } from '../../src/query/channels.ts';
import { KNOWN_SOURCES } from '../../src/query/known-sources.ts';
import { DIRECT_SOURCE, referrerSourceParts } from '../../src/query/referrer-source.ts';
import {
  CATEGORY_SOURCES,
  SOURCE_CATEGORIES,
  sourceCategoryOf,
} from '../../src/query/source-categories.ts';

const channel = (input: Partial<ChannelInput>) =>
  channelOf({ source: '', utmSource: '', utmMedium: '', utmCampaign: '', clickId: '', ...input });

describe('channelOf, rule by rule', () => {
  test('Direct: no source and no tag that names a channel', () => {
    expect(channel({})).toBe('Direct');
    expect(channel({ source: DIRECT_SOURCE })).toBe('Direct');
    expect(channel({ source: DIRECT_SOURCE, utmCampaign: 'launch' })).toBe('Direct');
  });

  test('Cross-network: a campaign containing cross-network, before every other rule', () => {
    expect(channel({ utmCampaign: 'pmax-cross-network-q4' })).toBe('Cross-network');
    expect(
      channel({
        source: 'Google',
        utmMedium: 'cpc',
        utmCampaign: 'Cross-Network',
        clickId: 'gclid',
      }),
    ).toBe('Cross-network');
  });

  test('Paid Shopping: a shopping source or campaign with a paid medium', () => {
    expect(channel({ source: 'amazon.com', utmMedium: 'cpc' })).toBe('Paid Shopping');
    expect(channel({ source: 'Google', utmMedium: 'cpc', utmCampaign: 'summer-shop' })).toBe(
      'Paid Shopping',
    );
    expect(channel({ source: 'ads.example', utmMedium: 'ppc', utmCampaign: 'Shopping' })).toBe(
      'Paid Shopping',
    );
    // "workshop" is no shop (GA4's pattern): a paid medium from elsewhere.
    expect(channel({ source: 'ads.example', utmMedium: 'cpc', utmCampaign: 'workshop' })).toBe(
      'Paid Other',
    );
  });

  test('Paid Search: a search engine with a paid medium or tag, or an ad click id', () => {
    expect(channel({ source: 'Google', utmMedium: 'cpc' })).toBe('Paid Search');
    expect(channel({ source: 'DuckDuckGo', utmMedium: 'paidsearch' })).toBe('Paid Search');
    expect(channel({ source: 'Bing', utmMedium: 'Retargeting' })).toBe('Paid Search');
    expect(channel({ source: 'Google', utmSource: 'adwords' })).toBe('Paid Search');
    expect(channel({ source: 'Google', utmSource: 'gads' })).toBe('Paid Search');
    expect(channel({ source: 'Google', clickId: 'gclid' })).toBe('Paid Search');
    expect(channel({ source: 'Bing', clickId: 'msclkid' })).toBe('Paid Search');
    // A click id counts only from its own network.
    expect(channel({ source: 'Google', clickId: 'msclkid' })).toBe('Organic Search');
    expect(channel({ source: 'Bing', clickId: 'gclid' })).toBe('Organic Search');
    expect(channel({ source: 'news.example', clickId: 'gclid' })).toBe('Referral');
  });

  test('Paid Social and Paid Video: such a source with a paid medium or tag', () => {
    expect(channel({ source: 'Facebook', utmMedium: 'paid_social' })).toBe('Paid Social');
    expect(channel({ source: 'Facebook', utmSource: 'facebook_ads' })).toBe('Paid Social');
    expect(channel({ source: 'LinkedIn', utmMedium: 'cpc' })).toBe('Paid Social');
    expect(channel({ source: 'YouTube', utmMedium: 'cpv' })).toBe('Paid Video');
    expect(channel({ source: 'YouTube', utmSource: 'yt-ads' })).toBe('Paid Video');
    expect(channel({ source: 'vimeo.com', utmMedium: 'paid' })).toBe('Paid Video');
  });

  test('Display: a display medium from a source of no category', () => {
    for (const medium of ['display', 'banner', 'expandable', 'interstitial', 'cpm']) {
      expect(channel({ source: 'adnetwork.example', utmMedium: medium })).toBe('Display');
    }
    // cpm is also a paid medium: from a search engine it is a search ad.
    expect(channel({ source: 'Google', utmMedium: 'cpm' })).toBe('Paid Search');
  });

  test('Paid Other: a paid medium from any other source, or none', () => {
    expect(channel({ source: 'partner.example', utmMedium: 'cpc' })).toBe('Paid Other');
    expect(channel({ utmMedium: 'ppc' })).toBe('Paid Other');
    expect(channel({ source: 'newsletter', utmMedium: 'paid-email' })).toBe('Paid Other');
  });

  test('Organic Shopping: a shopping source or campaign', () => {
    expect(channel({ source: 'ebay.de' })).toBe('Organic Shopping');
    expect(channel({ source: 'Amazon' })).toBe('Organic Shopping');
    expect(channel({ source: 'blog.example', utmCampaign: 'shop-launch' })).toBe(
      'Organic Shopping',
    );
  });

  test('Organic Social: a social network, or a social medium', () => {
    expect(channel({ source: 'Reddit' })).toBe('Organic Social');
    expect(channel({ source: 'Hacker News' })).toBe('Organic Social');
    expect(channel({ source: 'Twitter', utmMedium: 'organic' })).toBe('Organic Social');
    expect(channel({ source: 'forum.example', utmMedium: 'social-media' })).toBe('Organic Social');
    expect(channel({ utmMedium: 'SM' })).toBe('Organic Social');
    // The README's list of social mediums, each whole.
    const mediums = ['social', 'social-network', 'social-media', 'sm', 'social network'];
    for (const medium of [...mediums, 'social media']) {
      expect([medium, channel({ utmMedium: medium })]).toEqual([medium, 'Organic Social']);
    }
  });

  test('Organic Video: a video site, or a medium containing video', () => {
    expect(channel({ source: 'YouTube' })).toBe('Organic Video');
    expect(channel({ source: 'twitch.tv' })).toBe('Organic Video');
    expect(channel({ source: 'blog.example', utmMedium: 'video-embed' })).toBe('Organic Video');
  });

  test('AI Assistants: ChatGPT, Perplexity, Claude and the like', () => {
    for (const source of ['ChatGPT', 'Perplexity', 'Claude', 'Google Gemini', 'chatgpt.com']) {
      expect(channel({ source })).toBe('AI Assistants');
    }
    // The rest of the README's list.
    for (const source of ['Copilot', 'DeepSeek', 'Grok', 'Phind']) {
      expect([source, channel({ source })]).toEqual([source, 'AI Assistants']);
    }
  });

  test('Organic Search: a search engine without an ad', () => {
    for (const source of ['Google', 'Bing', 'DuckDuckGo', 'Yahoo!', 'Ecosia', 'naver.com']) {
      expect(channel({ source })).toBe('Organic Search');
    }
    expect(channel({ source: 'Google', utmMedium: 'organic' })).toBe('Organic Search');
  });

  test('Email: Gmail, or a source or medium tag naming email or a newsletter', () => {
    expect(channel({ source: 'Gmail' })).toBe('Email');
    expect(channel({ source: 'Newsletter', utmSource: 'Newsletter' })).toBe('Email');
    expect(channel({ source: 'acme', utmSource: 'acme', utmMedium: 'e-mail' })).toBe('Email');
    expect(channel({ utmMedium: 'weekly_email' })).toBe('Email');
    for (const medium of ['e_mail', 'e mail', 'Newsletter']) {
      expect([medium, channel({ utmMedium: medium })]).toEqual([medium, 'Email']);
    }
    // A source is not read as a tag: a referrer's host naming a newsletter is a Referral.
    expect(channel({ source: 'newsletter.example' })).toBe('Referral');
  });

  test('Affiliates, Audio and SMS: their medium (SMS: or source tag)', () => {
    expect(channel({ source: 'partner.example', utmMedium: 'affiliate' })).toBe('Affiliates');
    expect(channel({ source: 'podcast', utmMedium: 'Audio' })).toBe('Audio');
    expect(channel({ utmMedium: 'sms' })).toBe('SMS');
    expect(channel({ source: 'sms', utmSource: 'sms' })).toBe('SMS');
  });

  test('Mobile Push Notifications: a push, mobile or notification medium, or Firebase', () => {
    expect(channel({ utmMedium: 'web-push' })).toBe('Mobile Push Notifications');
    expect(channel({ source: 'app', utmMedium: 'mobile' })).toBe('Mobile Push Notifications');
    expect(channel({ utmMedium: 'notification' })).toBe('Mobile Push Notifications');
    expect(channel({ source: 'firebase' })).toBe('Mobile Push Notifications');
  });

  test('Referral: any other source, or a referral, app or link medium', () => {
    expect(channel({ source: 'news.example.org' })).toBe('Referral');
    expect(channel({ source: 'Wikipedia' })).toBe('Referral');
    // A named search engine that is in no category of Plausible's table, as the README says.
    expect(channel({ source: 'Startpage' })).toBe('Referral');
    // Webmail other than Gmail is in no category, as in Plausible: not Organic Search.
    expect(channel({ source: 'Yahoo! Mail' })).toBe('Referral');
    for (const medium of ['referral', 'app', 'link']) {
      expect(channel({ utmMedium: medium })).toBe('Referral');
    }
  });

  test("the channels are Plausible's, spelled as Plausible, Direct last", () => {
    expect(CHANNEL_RULES.map((r) => r.channel)).toEqual(CHANNELS.slice(0, -1) as never);
    expect(CHANNELS.at(-1)).toBe('Direct');
    expect(CHANNELS).toContain('Mobile Push Notifications');
    expect(CHANNELS).toContain('Cross-network');
  });
});

describe('source categories', () => {
  test('lower-case, each source in one category', () => {
    const all = SOURCE_CATEGORIES.flatMap((c) => CATEGORY_SOURCES[c]);
    expect(new Set(all).size).toBe(all.length);
    for (const source of all) expect(source).toBe(source.toLowerCase());
  });

  test('by any case; well-known names have the category of their site', () => {
    expect(sourceCategoryOf('GOOGLE')).toBe('search');
    expect(sourceCategoryOf('Hacker News')).toBe('social');
    expect(sourceCategoryOf('YouTube')).toBe('video');
    expect(sourceCategoryOf('Gmail')).toBe('email');
    expect(sourceCategoryOf('Perplexity')).toBe('ai_assistant');
    expect(sourceCategoryOf('Wikipedia')).toBeNull();
    expect(sourceCategoryOf('')).toBeNull();
  });

  test('names are matched whole: a subdomain or a host the table lacks is of no category', () => {
    // README "Limits": `smile.amazon.com` is not `amazon.com`; a smaller search engine Tally
    // names by its host is Referral, not Organic Search.
    expect(sourceCategoryOf('amazon.com')).toBe('shopping');
    expect(sourceCategoryOf('smile.amazon.com')).toBeNull();
    expect(sourceCategoryOf('search.example.net')).toBeNull();
    expect(channel({ source: 'search.example.net' })).toBe('Referral');
    expect(channel({ source: 'smile.amazon.com' })).toBe('Referral');
  });

  test('a tag naming a network by its host or short name, as GA4 and Plausible list it', () => {
    const tagged = (tag: string, utmMedium = '') =>
      channel({ source: tag, utmSource: tag, utmMedium });
    for (const tag of ['facebook.com', 'l.instagram.com', 't.co', 'producthunt', 'stackoverflow']) {
      expect(tagged(tag), tag).toBe('Organic Social');
    }
    expect(tagged('youtube.com')).toBe('Organic Video');
    expect(tagged('linkedin.com', 'cpc')).toBe('Paid Social');
    expect(tagged('yahoo.com')).toBe('Organic Search');
    // google.com is no tag GA4 lists (only "google"): a Referral in Plausible too.
    expect(tagged('google.com')).toBe('Referral');
  });

  test('each well-known name a category lists is one known-sources.ts gives', () => {
    const names = new Set(KNOWN_SOURCES.map((s) => s.name.toLowerCase()));
    for (const name of ['google', 'yahoo!', 'hacker news', 'stack overflow', 'claude']) {
      expect(names.has(name), name).toBe(true);
    }
  });
});

describe('channel-sql.ts: the rules in DuckDB', () => {
  let instance: DuckDBInstance;
  let c: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    c = await instance.connect();
  });
  afterAll(() => {
    c.closeSync();
    instance.closeSync();
  });

  /** The channel DuckDB gives each visit (its source and its first event's url). */
  async function sqlChannels(visits: { source: string; url: string }[]): Promise<string[]> {
    const rows = visits
      .map(
        (v, i) =>
          `(${i}, '${v.source.replaceAll("'", "''")}', '${v.url.replaceAll("'", "''")}', NULL)`,
      )
      .join(', ');
    const reader = await c.runAndReadAll(
      `WITH v(i, source, url, referrer) AS (VALUES ${rows}),
        parts AS (SELECT i, source, ${referrerSourceParts('v')}, ${channelPartsSql('v')} FROM v),
        sourced AS (SELECT * FROM ${channelSourceFrom('parts', 'source', 'utm')})
      SELECT ${channelSql()} AS channel FROM sourced ORDER BY i`,
    );
    return reader.getRowObjectsJS().map((r) => String(r.channel));
  }

  /** What channelOf gives the same visit, its url read with URLSearchParams. */
  function tsChannel(visit: { source: string; url: string }): string {
    const query = new URL(visit.url).searchParams;
    const tag = (name: string) => (query.get(name) ?? '').trim();
    const clickId = ['gclid', 'gbraid', 'wbraid', 'msclkid'].find((name) => query.has(name)) ?? '';
    return channelOf({
      source: visit.source,
      utmSource: tag('utm_source') || tag('source') || tag('ref'),
      utmMedium: tag('utm_medium'),
      utmCampaign: tag('utm_campaign'),
      clickId,
    });
  }

  const page = 'https://example.com/landing';
  const VISITS = [
    { source: DIRECT_SOURCE, url: page },
    { source: 'Google', url: `${page}?gclid=abc123` },
    { source: 'Bing', url: `${page}?x=1&msclkid=f00` },
    { source: 'Google', url: `${page}?utm_source=google&utm_medium=CPC` },
    { source: 'Google', url: `${page}?utm_campaign=pmax+cross-network` },
    { source: 'amazon.com', url: `${page}?utm_medium=ppc` },
    { source: 'x', url: `${page}?utm_source=x&utm_campaign=Summer%20Shop` },
    { source: 'Facebook', url: `${page}?utm_source=fb&utm_medium=paid_social` },
    { source: 'YouTube', url: `${page}?utm_source=yt-ads` },
    { source: 'adnet.example', url: `${page}?utm_medium=banner` },
    { source: 'partner.example', url: `${page}?utm_medium=cpc` },
    { source: 'Reddit', url: page },
    { source: 'vimeo.com', url: page },
    { source: 'ChatGPT', url: page },
    { source: 'DuckDuckGo', url: page },
    { source: 'Newsletter', url: `${page}?utm_source=Newsletter` },
    { source: 'Gmail', url: page },
    { source: 'blog.example', url: `${page}?utm_medium=affiliate` },
    { source: 'spotify', url: `${page}?utm_source=spotify&utm_medium=audio` },
    { source: 'sms', url: `${page}?utm_source=SMS` },
    { source: 'firebase', url: `${page}?utm_source=firebase` },
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=web-push` },
    { source: 'news.example.org', url: page },
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=referral` },
    { source: "o'reilly.com", url: `${page}?utm_campaign=it's` },
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=%20Email%20` },
    { source: 'Google', url: `${page}?gclid` },
    // The source tag is utm_source, else source, else ref, as Plausible's utm_source.
    { source: 'newsletter', url: `${page}?ref=newsletter` },
    { source: 'Facebook', url: `${page}?source=fb-ads` },
    { source: 'sms', url: `${page}?utm_source=&ref=SMS` },
    // Plausible's click id is the first of gclid, gbraid, wbraid, msclkid the url has.
    { source: 'Bing', url: `${page}?wbraid=w&msclkid=m` },
    { source: 'Google', url: `${page}?msclkid=m&gbraid=g&gclid=c` },
    // Only A–Z are lowered and `.` crosses line breaks, as ClickHouse computes Plausible's
    // channel: Turkish İ is no i, the Kelvin sign no k; cpc after a CR or LF is still paid.
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=EMA%C4%B0L` },
    { source: DIRECT_SOURCE, url: `${page}?utm_campaign=cross-networ%E2%84%AA` },
    { source: 'GİTHUB', url: page },
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=x%0Dcpc` },
    { source: DIRECT_SOURCE, url: `${page}?utm_medium=x%0Acpc` },
  ];

  test('the same channel as channelOf, for every rule', async () => {
    const expected = VISITS.map(tsChannel);
    expect(await sqlChannels(VISITS)).toEqual(expected);
    expect(expected.slice(-7)).toEqual([
      ...['Organic Search', 'Paid Search', 'Direct', 'Direct', 'Referral'],
      ...['Paid Other', 'Paid Other'],
    ]);
    // Every channel is reached by the visits above, so each rule's SQL is compared.
    expect(new Set(expected)).toEqual(new Set(CHANNELS));
  });
});
