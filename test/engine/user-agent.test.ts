import { describe, expect, test } from 'bun:test';
import {
  type DerivedUserAgent,
  deriveUserAgent,
  isBot,
  osOf,
  parseUserAgent,
  UserAgentDeriver,
} from '../../src/engine/user-agent.ts';

const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
  operaWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36 OPR/105.0.0.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
    'Version/17.1 Safari/605.1.15',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
    '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  safariIpad:
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
    'Version/16.6 Mobile/15E148 Safari/604.1',
  samsungAndroid:
    'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  chromeAndroidTablet:
    'Mozilla/5.0 (Linux; Android 13; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36',
  cubotPhone:
    'Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/80.0.3987.99 Mobile Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  chromeOs:
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36',
  windowsPhone:
    'Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) ' +
    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 ' +
    'Edge/15.14977',
  ie11: 'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko',
  smartTv:
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  headless:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'HeadlessChrome/120.0.0.0 Safari/537.36',
} as const;

describe('osOf (the FastAPI analytics service rules)', () => {
  test('the first matching rule wins, case-insensitively, in the service order', () => {
    expect(osOf(UA.chromeWindows)).toBe('Windows');
    expect(osOf(UA.safariMac)).toBe('MacOS');
    expect(osOf(UA.safariIphone)).toBe('iOS');
    expect(osOf(UA.samsungAndroid)).toBe('Android');
    expect(osOf(UA.firefoxLinux)).toBe('Linux');
    expect(osOf('WINDOWS')).toBe('Windows');
    expect(osOf('mAcInToSh')).toBe('MacOS');
  });

  test('follows the service where it differs from a full parser', () => {
    expect(osOf(UA.windowsPhone)).toBe('Windows');
    expect(osOf(UA.safariIpad)).toBe('Other');
    expect(osOf(UA.chromeOs)).toBe('Other');
    expect(osOf(UA.smartTv)).toBe('Linux');
    expect(osOf('curl/8.4.0')).toBe('Other');
  });
});

describe('deriveUserAgent', () => {
  test('browser families', () => {
    const browsers = Object.fromEntries(
      Object.entries(UA).map(([k, ua]) => [k, deriveUserAgent(ua).browser]),
    );
    expect(browsers).toMatchObject({
      chromeWindows: 'Chrome',
      edgeWindows: 'Edge',
      operaWindows: 'Opera',
      safariMac: 'Safari',
      safariIphone: 'Safari',
      samsungAndroid: 'Samsung Internet',
      firefoxLinux: 'Firefox',
      ie11: 'Internet Explorer',
      headless: 'Chrome',
    });
    expect(deriveUserAgent('posthog-node/3.1.0').browser).toBe('Other');
  });

  test('devices', () => {
    expect(deriveUserAgent(UA.chromeWindows).device).toBe('desktop');
    expect(deriveUserAgent(UA.safariMac).device).toBe('desktop');
    expect(deriveUserAgent(UA.firefoxLinux).device).toBe('desktop');
    expect(deriveUserAgent(UA.safariIphone).device).toBe('mobile');
    expect(deriveUserAgent(UA.samsungAndroid).device).toBe('mobile');
    expect(deriveUserAgent(UA.cubotPhone).device).toBe('mobile');
    expect(deriveUserAgent(UA.safariIpad).device).toBe('tablet');
    expect(deriveUserAgent(UA.chromeAndroidTablet).device).toBe('tablet');
    expect(deriveUserAgent(UA.smartTv).device).toBe('other');
    expect(deriveUserAgent(UA.googlebot).device).toBe('bot');
    expect(deriveUserAgent('curl/8.4.0').device).toBe('other');
  });

  test('crawlers, headless browsers and monitors are bots', () => {
    for (const ua of [
      UA.googlebot,
      UA.headless,
      'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
      'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
      'Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)',
      'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0)',
      'Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)',
      'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
      'Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
      'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
      'Mozilla/5.0 (Linux; Android 7.0; Moto G (4)) AppleWebKit/537.36 (KHTML, like Gecko) ' +
        'Chrome/120.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse',
      'Scrapy/2.11.0 (+https://scrapy.org)',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; anthropic-ai)',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0)',
      'cohere-ai',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0',
      'Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)',
      'Apache Nutch/1.19',
      'Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)',
      'Mozilla/5.0 (Linux; Android 7.0) Google-Read-Aloud',
      'Mozilla/5.0 (compatible; Google-Site-Verification/1.0)',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Cypress/13.6.0 Chrome/118.0 Safari/537.36',
    ]) {
      expect([ua, deriveUserAgent(ua).is_bot]).toEqual([ua, true]);
    }
  });

  test('API clients, SDKs and phones named like bots are not bots', () => {
    for (const ua of [
      'curl/8.4.0',
      'Wget/1.21.4',
      'python-requests/2.31.0',
      'Go-http-client/2.0',
      'okhttp/4.12.0',
      'axios/1.6.2',
      'posthog-node/3.1.0',
      'analytics-node/6.2.0',
      'posthog-python/3.0.0',
      UA.cubotPhone,
      'Mozilla/5.0 (Linux; Android 12; ROBOT Phone X1) AppleWebKit/537.36 (KHTML, like Gecko) ' +
        'Chrome/120.0.0.0 Mobile Safari/537.36',
      UA.chromeWindows,
      UA.safariIphone,
    ]) {
      expect([ua, isBot(ua)]).toEqual([ua, false]);
    }
  });

  test('a missing or empty agent derives nothing', () => {
    const none: DerivedUserAgent = {
      os: 'Other',
      browser: 'Other',
      device: 'other',
      is_bot: false,
    };
    expect(deriveUserAgent(null)).toEqual(none);
    expect(deriveUserAgent('')).toEqual(none);
    expect(parseUserAgent('   ')).toEqual(none);
  });

  test('results are frozen so a shared cached value cannot be altered', () => {
    expect(Object.isFrozen(deriveUserAgent(UA.chromeWindows))).toBe(true);
  });
});

describe('UserAgentDeriver', () => {
  test('caches at most entriesMax agents, evicting the least recently used', () => {
    const d = new UserAgentDeriver(2);
    const a = d.derive(UA.chromeWindows);
    const b = d.derive(UA.safariMac);
    expect(d.derive(UA.chromeWindows)).toBe(a);
    d.derive(UA.firefoxLinux);
    expect(d.size).toBe(2);
    expect(d.derive(UA.chromeWindows)).toBe(a);
    const again = d.derive(UA.safariMac);
    expect(again).not.toBe(b);
    expect(again).toEqual(b);
  });

  test('does not cache missing agents', () => {
    const d = new UserAgentDeriver(2);
    d.derive(null);
    d.derive('');
    expect(d.size).toBe(0);
  });
});
