// A visit's acquisition channel, as Plausible derives it (its Plausible.Ingestion.Acquisition,
// after Google Analytics 4's default channel group): from the visit's source (referrer-source.ts,
// whose category source-categories.ts gives), the entry URL's source tag (utm_source, else
// source, else ref: what Plausible stores as utm_source), utm_medium and utm_campaign, and its
// click id (gclid: a Google Ads click; msclkid: a Microsoft Ads one).
// The rules are data, CHANNEL_RULES, tried in order, the first that holds naming the channel
// (else Direct); channelOf evaluates them here and channel-sql.ts compiles the same rules to
// SQL, so reads group and filter visits by the one definition (a test checks both agree).
// Every input is compared with A–Z lower-case (lowerAscii), and a pattern's `.` matches any
// character, line breaks too: as ClickHouse evaluates Plausible's channel column.

import { KNOWN_SOURCES } from './known-sources.ts';
import { DIRECT_SOURCE } from './referrer-source.ts';
import { lowerAscii, type SourceCategory, sourceCategoryOf } from './source-categories.ts';

/** Plausible's channels, spelled as Plausible spells them, in the order its rules try them. */
export const CHANNELS = [
  'Cross-network',
  'Paid Shopping',
  'Paid Search',
  'Paid Social',
  'Paid Video',
  'Display',
  'Paid Other',
  'Organic Shopping',
  'Organic Social',
  'Organic Video',
  'AI Assistants',
  'Organic Search',
  'Email',
  'Affiliates',
  'Audio',
  'SMS',
  'Mobile Push Notifications',
  'Referral',
  'Direct',
] as const;
export type Channel = (typeof CHANNELS)[number];

/** What a visit's channel is derived from (strings, '' for none; any case). */
export interface ChannelInput {
  /** The visit's source as referrer-source.ts names it; '' (or DIRECT_SOURCE) for none. */
  source: string;
  /** The source tag: utm_source, else source, else ref (the first not empty), as sent. */
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  /** The first click id parameter of gclid, gbraid, wbraid, msclkid the entry URL has, else ''. */
  clickId: string;
}

/** The inputs by the names the rules use. */
export type ChannelField = 'source' | 'utm_source' | 'utm_medium' | 'utm_campaign' | 'click_id';

/**
 * A condition on the lower-case inputs. `matches` is a pattern that JavaScript and RE2
 * (DuckDB) read alike, anchored with ^…$, its `.` any character (JavaScript's `s` flag,
 * RE2's `(?s)`).
 */
export type Condition =
  | { category: SourceCategory }
  | { field: ChannelField; in: readonly string[] }
  | { field: ChannelField; contains: readonly string[] }
  | { field: ChannelField; endsWith: string }
  | { field: ChannelField; matches: string }
  | { field: ChannelField; present: true }
  | { any: readonly Condition[] }
  | { all: readonly Condition[] };

export interface ChannelRule {
  channel: Exclude<Channel, 'Direct'>;
  when: Condition;
}

/** A paid medium: cpc, cpm, cpv, ppc, retargeting, paid…: GA4's pattern, as Plausible's. */
const PAID_MEDIUM: Condition = {
  field: 'utm_medium',
  matches: '^(.*cp.*|ppc|retargeting|paid.*)$',
};

/**
 * Tags that mean an ad whatever the medium, as Plausible's paid sources: the known sources'
 * tags ending in "ad" or "ads" (gads, fb-ads, yt-ads …; known-sources.ts names each one's
 * source), and "adwords".
 */
const PAID_SOURCE_TAGS: readonly string[] = [
  'adwords',
  ...KNOWN_SOURCES.flatMap((s) => s.tags ?? []).filter((tag) => /ads?$/.test(tag)),
];
const PAID_SOURCE: Condition = { field: 'utm_source', in: PAID_SOURCE_TAGS };

/** A shopping campaign ("shop", "shopping", "summer-shop", not "workshop"): GA4's pattern. */
const SHOP_CAMPAIGN: Condition = {
  field: 'utm_campaign',
  matches: '^(.*(([^a-df-z]|^)shop|shopping).*)$',
};

const EMAIL_TAGS = ['email', 'e-mail', 'e_mail', 'e mail', 'newsletter'];

const paidFrom = (category: SourceCategory): Condition => ({
  all: [{ category }, { any: [PAID_MEDIUM, PAID_SOURCE] }],
});

/** Plausible's rules, in its order; a visit none of them holds for is Direct. */
export const CHANNEL_RULES: readonly ChannelRule[] = [
  { channel: 'Cross-network', when: { field: 'utm_campaign', contains: ['cross-network'] } },
  {
    channel: 'Paid Shopping',
    when: { all: [{ any: [{ category: 'shopping' }, SHOP_CAMPAIGN] }, PAID_MEDIUM] },
  },
  {
    channel: 'Paid Search',
    when: {
      any: [
        paidFrom('search'),
        {
          all: [
            { field: 'source', in: ['google'] },
            { field: 'click_id', in: ['gclid'] },
          ],
        },
        {
          all: [
            { field: 'source', in: ['bing'] },
            { field: 'click_id', in: ['msclkid'] },
          ],
        },
      ],
    },
  },
  { channel: 'Paid Social', when: paidFrom('social') },
  { channel: 'Paid Video', when: paidFrom('video') },
  {
    channel: 'Display',
    when: {
      field: 'utm_medium',
      in: ['display', 'banner', 'expandable', 'interstitial', 'cpm'],
    },
  },
  { channel: 'Paid Other', when: PAID_MEDIUM },
  { channel: 'Organic Shopping', when: { any: [{ category: 'shopping' }, SHOP_CAMPAIGN] } },
  {
    channel: 'Organic Social',
    when: {
      any: [
        { category: 'social' },
        {
          field: 'utm_medium',
          in: ['social', 'social-network', 'social-media', 'sm', 'social network', 'social media'],
        },
      ],
    },
  },
  {
    channel: 'Organic Video',
    when: { any: [{ category: 'video' }, { field: 'utm_medium', contains: ['video'] }] },
  },
  { channel: 'AI Assistants', when: { category: 'ai_assistant' } },
  { channel: 'Organic Search', when: { category: 'search' } },
  {
    channel: 'Email',
    when: {
      any: [
        { category: 'email' },
        { field: 'utm_source', contains: EMAIL_TAGS },
        { field: 'utm_medium', contains: EMAIL_TAGS },
      ],
    },
  },
  { channel: 'Affiliates', when: { field: 'utm_medium', in: ['affiliate'] } },
  { channel: 'Audio', when: { field: 'utm_medium', in: ['audio'] } },
  {
    channel: 'SMS',
    when: {
      any: [
        { field: 'utm_source', in: ['sms'] },
        { field: 'utm_medium', in: ['sms'] },
      ],
    },
  },
  {
    channel: 'Mobile Push Notifications',
    when: {
      any: [
        { field: 'utm_medium', endsWith: 'push' },
        { field: 'utm_medium', contains: ['mobile', 'notification'] },
        { field: 'source', in: ['firebase'] },
      ],
    },
  },
  {
    channel: 'Referral',
    when: {
      any: [
        { field: 'utm_medium', in: ['referral', 'app', 'link'] },
        { field: 'source', present: true },
      ],
    },
  },
];

/**
 * The channel of a visit, the rules evaluated here: reads use channel-sql.ts's SQL, which
 * test/query/channels.test.ts checks against this.
 */
export function channelOf(input: ChannelInput): Channel {
  const source = input.source === DIRECT_SOURCE ? '' : lowerAscii(input.source);
  const fields: Record<ChannelField, string> = {
    source,
    utm_source: lowerAscii(input.utmSource),
    utm_medium: lowerAscii(input.utmMedium),
    utm_campaign: lowerAscii(input.utmCampaign),
    click_id: lowerAscii(input.clickId),
  };
  const category = sourceCategoryOf(source);
  const rule = CHANNEL_RULES.find((r) => holds(r.when, fields, category));
  return rule === undefined ? 'Direct' : rule.channel;
}

function holds(
  c: Condition,
  fields: Record<ChannelField, string>,
  category: SourceCategory | null,
): boolean {
  if ('category' in c) return category === c.category;
  if ('any' in c) return c.any.some((d) => holds(d, fields, category));
  if ('all' in c) return c.all.every((d) => holds(d, fields, category));
  const value = fields[c.field];
  if ('in' in c) return c.in.includes(value);
  if ('contains' in c) return c.contains.some((part) => value.includes(part));
  if ('endsWith' in c) return value.endsWith(c.endsWith);
  if ('matches' in c) return patternOf(c.matches).test(value);
  return value !== '';
}

const patterns = new Map<string, RegExp>();

function patternOf(source: string): RegExp {
  let pattern = patterns.get(source);
  if (pattern === undefined) {
    pattern = new RegExp(source, 's');
    patterns.set(source, pattern);
  }
  return pattern;
}
