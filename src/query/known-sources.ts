// Names of well-known traffic sources, as Plausible's Sources panel shows them: a referrer on
// google.com, google.co.uk or google.de is "Google", t.co and x.com are "Twitter", and a tag
// such as utm_source=google, =GOOGLE or =adwords is "Google" too. Everything else keeps its
// host name (or its tag, case as sent). Plausible resolves names through the referer-parser
// database plus its own list; this is a shorter list of the sources most sites see, written
// for Tally (README "Limits" says so). As DuckDB expressions, for referrer-source.ts.

import { sqlMap, sqlString } from './sql-literals.ts';

interface KnownSource {
  name: string;
  /**
   * Registrable domains: a host matches one when it is the domain or a subdomain of it. A
   * domain ending in `.*` stands for the name under a country or generic suffix: google.de,
   * google.com, google.co.uk, google.com.au (not google.example.com).
   */
  domains: readonly string[];
  /** Tag values (utm_source, source, ref) that mean this source, lower-case, beyond its name. */
  tags?: readonly string[];
}

/** First match wins: a more specific domain comes before a broader one (mail.google.com). */
export const KNOWN_SOURCES: readonly KnownSource[] = [
  { name: 'Gmail', domains: ['mail.google.com', 'com.google.android.gm'] },
  { name: 'Google Gemini', domains: ['gemini.google.com'] },
  {
    name: 'Google',
    domains: ['google.*', 'com.google.android.googlequicksearchbox'],
    tags: ['adwords', 'googleads', 'google ads', 'google_ads', 'google-ads', 'gads'],
  },
  { name: 'Bing', domains: ['bing.com'] },
  { name: 'DuckDuckGo', domains: ['duckduckgo.com'], tags: ['ddg'] },
  // Yahoo's webmail is no search engine (referer-parser names it apart, as Gmail).
  {
    name: 'Yahoo! Mail',
    domains: ['mail.yahoo.*', 'com.yahoo.mobile.client.android.mail'],
  },
  { name: 'Yahoo!', domains: ['search.yahoo.com', 'yahoo.*'], tags: ['yahoo'] },
  { name: 'Yandex', domains: ['yandex.*', 'ya.ru'] },
  { name: 'Baidu', domains: ['baidu.com'] },
  { name: 'Ecosia', domains: ['ecosia.org'] },
  { name: 'Brave', domains: ['search.brave.com'] },
  { name: 'Qwant', domains: ['qwant.com'] },
  { name: 'Startpage', domains: ['startpage.com'] },
  { name: 'Perplexity', domains: ['perplexity.ai'] },
  { name: 'ChatGPT', domains: ['chatgpt.com', 'chat.openai.com'], tags: ['chatgpt.com'] },
  { name: 'Claude', domains: ['claude.ai'] },
  { name: 'Copilot', domains: ['copilot.microsoft.com'] },
  { name: 'DeepSeek', domains: ['chat.deepseek.com'] },
  { name: 'Grok', domains: ['grok.com'] },
  { name: 'Phind', domains: ['phind.com'] },
  {
    name: 'Facebook',
    domains: ['facebook.com', 'fb.com', 'fb.me', 'com.facebook.katana'],
    tags: [
      'fb',
      'fcb',
      'fb-ads',
      'fbads',
      'fbad',
      'facebook-ads',
      'facebook_ads',
      'facebook_ad',
      'facebook_feed_ad',
    ],
  },
  { name: 'Instagram', domains: ['instagram.com', 'com.instagram.android'], tags: ['ig'] },
  {
    name: 'Twitter',
    domains: ['twitter.com', 't.co', 'x.com', 'com.twitter.android'],
    tags: ['x', 'tw', 'twitter-ads'],
  },
  { name: 'LinkedIn', domains: ['linkedin.com', 'lnkd.in', 'com.linkedin.android'], tags: ['li'] },
  { name: 'Reddit', domains: ['reddit.com', 'com.reddit.frontpage'], tags: ['reddit-ads'] },
  { name: 'Hacker News', domains: ['news.ycombinator.com'], tags: ['hn', 'hackernews'] },
  {
    name: 'YouTube',
    domains: ['youtube.com', 'youtu.be', 'com.google.android.youtube'],
    tags: ['yt', 'yt-ads'],
  },
  { name: 'TikTok', domains: ['tiktok.com'], tags: ['tiktokads', 'tik.tok'] },
  { name: 'Pinterest', domains: ['pinterest.*'] },
  { name: 'Threads', domains: ['threads.net', 'threads.com'] },
  { name: 'Bluesky', domains: ['bsky.app'] },
  { name: 'Mastodon', domains: ['mastodon.social'] },
  { name: 'GitHub', domains: ['github.com'] },
  { name: 'Stack Overflow', domains: ['stackoverflow.com'] },
  { name: 'Product Hunt', domains: ['producthunt.com'] },
  { name: 'Wikipedia', domains: ['wikipedia.org'] },
  { name: 'Slack', domains: ['slack.com', 'com.slack'] },
  { name: 'Discord', domains: ['discord.com', 'discordapp.com'] },
  { name: 'Telegram', domains: ['t.me', 'telegram.org', 'org.telegram.messenger'] },
  { name: 'WhatsApp', domains: ['whatsapp.com', 'wa.me'] },
  { name: 'Outlook.com', domains: ['outlook.live.com', 'outlook.office.com'] },
  { name: 'Medium', domains: ['medium.com'] },
  { name: 'Substack', domains: ['substack.com'] },
];

/** A DuckDB (RE2) pattern for a host that is one of `domains` or under one. */
function hostPattern(domains: readonly string[]): string {
  const alternatives = domains.map((d) =>
    d.endsWith('.*') ? `${escapeRe(d.slice(0, -2))}\\.(com?\\.)?[a-z]{2,3}` : escapeRe(d),
  );
  return `^(.+\\.)?(${alternatives.join('|')})$`;
}

function escapeRe(text: string): string {
  return text.replace(/[.+?*^$()[\]{}|\\]/g, (c) => `\\${c}`);
}

/**
 * The source name of a normalized referrer host (lower-case, no "www."): the known name whose
 * domains it falls under, else the host itself.
 */
export function knownHostName(host: string): string {
  const whens = KNOWN_SOURCES.map((s) => {
    const pattern = sqlString(hostPattern(s.domains));
    return `WHEN regexp_matches(${host}, ${pattern}) THEN ${sqlString(s.name)}`;
  });
  // One pattern for them all first: most hosts are none of them and cost one match.
  const any = sqlString(hostPattern(KNOWN_SOURCES.flatMap((s) => s.domains)));
  return `CASE WHEN NOT regexp_matches(${host}, ${any}) THEN ${host} ${whens.join(' ')} END`;
}

/**
 * The source name of a tag (utm_source, source or ref as sent): a known source's name when the
 * tag is that name or one of its tags in any case, else the tag as sent.
 */
export function knownTagName(tag: string): string {
  const names = new Map<string, string>();
  for (const s of KNOWN_SOURCES) {
    for (const value of [s.name.toLowerCase(), ...(s.tags ?? [])]) {
      if (!names.has(value)) names.set(value, s.name); // the first source listed wins
    }
  }
  return `coalesce(${sqlMap(names)}[lower(${tag})], ${tag})`;
}
