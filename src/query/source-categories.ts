// Which traffic sources are search engines, social networks, video sites, shopping sites, email
// services and AI assistants: the table Plausible's acquisition channels read (channels.ts).
// Plausible takes Google Analytics 4's list of source categories (~800 sources, most of them
// rarely seen) plus its own additions; this is a shorter table written for Tally, keyed the way
// Tally names a visit's source (referrer-source.ts), lower-case:
// - the name of a well-known source (known-sources.ts): "google", "hacker news", "yahoo!";
// - the host of another referrer, without "www.": "vimeo.com", "ebay.de";
// - a tag (utm_source, source, ref) as sent that is no well-known name: "vimeo", "amazon".
// A source in no category is none of these (a blog, a forum, Wikipedia): Referral, as in
// Plausible. README "Limits" says the table is shorter than Plausible's.

import { sqlMap } from './sql-literals.ts';

export const SOURCE_CATEGORIES = [
  'search',
  'social',
  'video',
  'shopping',
  'email',
  'ai_assistant',
] as const;
export type SourceCategory = (typeof SOURCE_CATEGORIES)[number];

/** Each category's sources, lower-case; a source is in at most one (checked by a test). */
export const CATEGORY_SOURCES: Readonly<Record<SourceCategory, readonly string[]>> = {
  search: [
    // Well-known names (known-sources.ts).
    'google',
    'bing',
    'duckduckgo',
    'yahoo!',
    'yandex',
    'baidu',
    'ecosia',
    'brave',
    'qwant',
    // The engines above by a tag naming their host, as GA4 lists them.
    'ecosia.org',
    'qwant.com',
    'yahoo.com',
    'yandex.ru',
    'yandex.com',
    'm.baidu.com',
    // Other engines, by tag and host.
    'yahoo',
    'naver',
    'naver.com',
    'm.naver.com',
    'seznam',
    'seznam.cz',
    'sogou',
    'sogou.com',
    'm.sogou.com',
    'so.com',
    '360.cn',
    'msn',
    'msn.com',
    'ntp.msn.com',
    'aol',
    'search.aol.com',
    'ask',
    'daum',
    'daum.net',
    'rambler',
    'rambler.ru',
    'onet',
    'onet.pl',
  ],
  social: [
    // Well-known names (known-sources.ts).
    'facebook',
    'instagram',
    'twitter',
    'linkedin',
    'reddit',
    'hacker news',
    'tiktok',
    'pinterest',
    'threads',
    'bluesky',
    'mastodon',
    'github',
    'stack overflow',
    'product hunt',
    'slack',
    'discord',
    'telegram',
    'whatsapp',
    'medium',
    // The networks above by a tag naming their host or short name (utm_source=facebook.com),
    // as GA4 lists them; a referrer on these hosts has the network's name.
    'producthunt',
    'stackoverflow',
    'stackoverflow.com',
    'facebook.com',
    'm.facebook.com',
    'l.facebook.com',
    'lm.facebook.com',
    'web.facebook.com',
    'fb.me',
    'instagram.com',
    'l.instagram.com',
    'linkedin.com',
    'lnkd.in',
    'reddit.com',
    'old.reddit.com',
    'out.reddit.com',
    'amp.reddit.com',
    'twitter.com',
    't.co',
    'tiktok.com',
    'pinterest.com',
    'news.ycombinator.com',
    't.me',
    'whatsapp.com',
    'medium.com',
    // Other networks, by tag and host.
    'vk.com',
    'vkontakte',
    'quora',
    'quora.com',
    'tumblr',
    'tumblr.com',
    'snapchat',
    'snapchat.com',
    'messenger',
    'messenger.com',
    'l.messenger.com',
    'line',
    'line.me',
    'weibo',
    'weibo.com',
    'wechat',
    'wechat.com',
    'xing',
    'xing.com',
    'flipboard',
    'flipboard.com',
    'yelp',
    'yelp.com',
    'tripadvisor',
    'tripadvisor.com',
    'microsoft teams',
    'statics.teams.cdn.office.net',
    'steamcommunity.com',
  ],
  video: [
    // Well-known names (known-sources.ts).
    'youtube',
    // YouTube by a tag naming its host, as GA4 lists them.
    'youtube.com',
    'm.youtube.com',
    'music.youtube.com',
    // Other sites, by tag and host.
    'vimeo',
    'vimeo.com',
    'player.vimeo.com',
    'twitch',
    'twitch.tv',
    'm.twitch.tv',
    'dailymotion',
    'dailymotion.com',
    'netflix',
    'netflix.com',
    'hulu',
    'hulu.com',
    'disneyplus',
    'disneyplus.com',
    'ted',
    'ted.com',
    'wistia',
    'wistia.com',
    'fast.wistia.net',
    'iqiyi',
    'iqiyi.com',
    'youku',
    'youku.com',
  ],
  shopping: [
    'amazon',
    'amazon.com',
    'amazon.co.uk',
    'ebay',
    'ebay.com',
    'ebay.co.uk',
    'ebay.de',
    'ebay.com.au',
    'etsy',
    'etsy.com',
    'walmart',
    'walmart.com',
    'alibaba',
    'alibaba.com',
    'm.alibaba.com',
    'mercadolibre',
    'mercadolibre.com',
    'shopify',
    'shopify.com',
    'apps.shopify.com',
    'checkout.shopify.com',
    'shop.app',
    'stripe',
    'stripe.com',
    'checkout.stripe.com',
    'temu.com',
    'google shopping',
    'igshopping',
    'shopping.yahoo.com',
  ],
  email: ['gmail'],
  ai_assistant: [
    // Well-known names (known-sources.ts).
    'chatgpt',
    'perplexity',
    'claude',
    'google gemini',
    'copilot',
    'deepseek',
    'grok',
    'phind',
    // A tag naming ChatGPT's host.
    'chatgpt.com',
  ],
};

const CATEGORY_OF = new Map<string, SourceCategory>(
  SOURCE_CATEGORIES.flatMap((category) =>
    CATEGORY_SOURCES[category].map((source) => [source, category] as const),
  ),
);

/**
 * `text` with A–Z lower-case and every other letter as it is: how Plausible's channel column
 * compares (ClickHouse's lower()), so that no letter outside ASCII turns into a keyword's
 * (Turkish İ is no i, the Kelvin sign no k), and the same here and in SQL (lowerAsciiSql).
 */
export function lowerAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/**
 * lowerAscii as a DuckDB expression over `sql`, for what the rules read: DuckDB's lower()
 * (fast; translate() is ~20× slower) but for the only two letters it lowers to ASCII, Turkish
 * İ (to i) and the Kelvin sign (to k), which become letters that stay outside ASCII (ı, ĸ).
 * Other letters outside ASCII it lowers stay outside ASCII, which no rule tells apart (every
 * word and pattern of the rules is ASCII), so every rule holds here as over lowerAscii.
 */
export function lowerAsciiSql(sql: string): string {
  return `lower(replace(replace(${sql}, '\u0130', '\u0131'), '\u212a', '\u0138'))`;
}

/** The category of a source (any case of A–Z), or null for a source in none. */
export function sourceCategoryOf(source: string): SourceCategory | null {
  return CATEGORY_OF.get(lowerAscii(source)) ?? null;
}

/**
 * The category of a lower-case source as a DuckDB expression over `source` (SQL): one CASE,
 * '' for a source in none. The names are this module's constants, quoted here.
 */
export function sourceCategorySql(source: string): string {
  const categories = new Map<string, string>();
  for (const category of SOURCE_CATEGORIES) {
    for (const name of CATEGORY_SOURCES[category]) {
      if (!categories.has(name)) categories.set(name, category); // the first category wins
    }
  }
  return `coalesce(${sqlMap(categories)}[${source}], '')`;
}
