// The fields an event derives from its user agent: `os` by the exact rules of the FastAPI
// analytics service (seed 003) so its compatible API answers the same, `browser` and `device`
// from ua-parser-js 1.x, and `is_bot`. Parsing costs ~35 µs and the same few agents repeat
// constantly, so results are shared from a bounded least-recently-used cache.

import { UAParser } from 'ua-parser-js';

export type OsName = 'Windows' | 'MacOS' | 'iOS' | 'Android' | 'Linux' | 'Other';
export type DeviceKind = 'desktop' | 'mobile' | 'tablet' | 'bot' | 'other';

export interface DerivedUserAgent {
  os: OsName;
  /** A browser family (aliases folded: 'Mobile Safari' → 'Safari'), else 'Other'. */
  browser: string;
  device: DeviceKind;
  is_bot: boolean;
}

/**
 * The service's SQL CASE of `user_agent ILIKE '%…%'` tests, in its order: first match wins, so
 * an Android agent ("Linux; Android") is Android, an iPad ("CPU OS … like Mac OS X") is Other
 * and ChromeOS ("X11; CrOS") is Other, exactly as there.
 */
const OS_RULES: readonly (readonly [needle: string, os: OsName])[] = [
  ['windows', 'Windows'],
  ['macintosh', 'MacOS'],
  ['iphone', 'iOS'],
  ['android', 'Android'],
  ['linux', 'Linux'],
];

/**
 * Bots are agents that fetch pages on their own: crawlers and link previewers that name
 * themselves, headless and automated browsers, uptime and performance monitors. Plain HTTP
 * clients (curl, wget, python-requests, Go-http-client, okhttp) and server-side SDKs
 * (posthog-node, analytics-node) are not: an event arriving with their agent was sent on
 * purpose through the API, since they cannot run a page's tracking script.
 * `(?<!cu|ro)bot\b` spares the Cubot phone brand ("Android 9; CUBOT X19") and "Robot" phones.
 */
const BOT_PATTERN = new RegExp(
  [
    '(?<!cu|ro)bot\\b',
    'crawl',
    'spider',
    'slurp',
    'scrapy|scraper',
    'facebookexternalhit',
    'ia_archiver',
    'mediapartners-google',
    'google-inspectiontool',
    'googleother',
    'feedfetcher',
    'bingpreview',
    'headless',
    'phantomjs',
    'selenium',
    'webdriver',
    'puppeteer',
    'playwright',
    'lighthouse',
    'page ?speed',
    'gtmetrix',
    'prerender',
    'pingdom',
    'uptime',
    'statuscake',
    'site24x7',
    'newrelicpinger',
    'datadogsynthetics',
    'checkly',
    'monitor',
    // AI crawlers and fetchers that do not say "bot"
    'anthropic-ai',
    'claude-(user|web|searchbot)',
    'cohere-ai',
    'chatgpt-user',
    'perplexity-user',
    // search engines and tools that do not say "bot" either
    'yeti',
    'nutch',
    'qwantify',
    'google-read-aloud',
    'google-site-verification',
    'cypress',
  ].join('|'),
  'i',
);

/** ua-parser-js names (lower case) folded into one family each. */
const BROWSER_FAMILIES: ReadonlyMap<string, string> = new Map([
  ['chrome', 'Chrome'],
  ['mobile chrome', 'Chrome'],
  ['chrome webview', 'Chrome'],
  ['chrome headless', 'Chrome'],
  ['safari', 'Safari'],
  ['mobile safari', 'Safari'],
  ['firefox', 'Firefox'],
  ['mobile firefox', 'Firefox'],
  ['firefox focus', 'Firefox'],
  ['edge', 'Edge'],
  ['opera', 'Opera'],
  ['opera mini', 'Opera'],
  ['opera mobi', 'Opera'],
  ['opera touch', 'Opera'],
  ['opera gx', 'Opera'],
  ['opera coast', 'Opera'],
  ['samsung internet', 'Samsung Internet'],
  ['samsung browser', 'Samsung Internet'],
  ['ie', 'Internet Explorer'],
  ['iemobile', 'Internet Explorer'],
  ['ucbrowser', 'UC Browser'],
]);

const UNKNOWN: Readonly<DerivedUserAgent> = Object.freeze({
  os: 'Other',
  browser: 'Other',
  device: 'other',
  is_bot: false,
});

/** The operating system by the service's rules (case-insensitive substrings, in order). */
export function osOf(userAgent: string): OsName {
  const lower = userAgent.toLowerCase();
  for (const [needle, os] of OS_RULES) if (lower.includes(needle)) return os;
  return 'Other';
}

export function isBot(userAgent: string): boolean {
  return BOT_PATTERN.test(userAgent);
}

/** Derives every field without the cache. */
export function parseUserAgent(userAgent: string | null): Readonly<DerivedUserAgent> {
  if (userAgent === null || userAgent.trim() === '') return UNKNOWN;
  const parsed = new UAParser(userAgent).getResult();
  const os = osOf(userAgent);
  const bot = isBot(userAgent);
  const name = parsed.browser.name;
  const browser = name === undefined ? 'Other' : (BROWSER_FAMILIES.get(name.toLowerCase()) ?? name);
  const device = bot ? 'bot' : deviceOf(parsed.device.type, os, name !== undefined, userAgent);
  return Object.freeze({ os, browser, device, is_bot: bot });
}

/**
 * ua-parser-js's device type where it knows one; TVs, consoles, XR headsets and embedded
 * devices are 'other'. Without one: Android follows its convention ("Mobile" token = phone,
 * none = tablet), an iPhone is mobile, any other recognised browser is a desktop, and an
 * agent that is no browser at all (curl, an SDK) is 'other'.
 */
function deviceOf(
  type: string | undefined,
  os: OsName,
  knownBrowser: boolean,
  userAgent: string,
): DeviceKind {
  if (type === 'mobile' || type === 'wearable') return 'mobile';
  if (type === 'tablet') return 'tablet';
  if (type !== undefined) return 'other';
  if (os === 'Android') return /mobile/i.test(userAgent) ? 'mobile' : 'tablet';
  if (os === 'iOS') return 'mobile';
  return knownBrowser ? 'desktop' : 'other';
}

const USER_AGENT_CACHE_ENTRIES_MAX = 10_000;

/**
 * `parseUserAgent` behind a least-recently-used cache of at most `entriesMax` agents (a Map
 * keeps insertion order: a hit moves its key to the end, a miss past the bound evicts the
 * first). Agents are at most 1 KiB (eventLimits), so 10k entries stay within ~12 MiB.
 */
export class UserAgentDeriver {
  private readonly cache = new Map<string, Readonly<DerivedUserAgent>>();

  constructor(private readonly entriesMax = USER_AGENT_CACHE_ENTRIES_MAX) {}

  derive(userAgent: string | null): Readonly<DerivedUserAgent> {
    if (userAgent === null || userAgent === '') return UNKNOWN;
    const hit = this.cache.get(userAgent);
    if (hit !== undefined) {
      this.cache.delete(userAgent);
      this.cache.set(userAgent, hit);
      return hit;
    }
    const derived = parseUserAgent(userAgent);
    if (this.cache.size >= this.entriesMax) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(userAgent, derived);
    return derived;
  }

  get size(): number {
    return this.cache.size;
  }
}

const shared = new UserAgentDeriver();

/** The derived fields of `userAgent`, from the process-wide cache. Results are frozen. */
export function deriveUserAgent(userAgent: string | null): Readonly<DerivedUserAgent> {
  return shared.derive(userAgent);
}
