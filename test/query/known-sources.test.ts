// The known source names, evaluated by DuckDB as the stats query evaluates them.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { knownHostName, knownTagName } from '../../src/query/known-sources.ts';

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

/** Each value through `expression` (of the column `v`), in order. */
async function names(expression: (column: string) => string, values: string[]) {
  const list = values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
  const reader = await c.runAndReadAll(
    `SELECT ${expression('v')} AS name FROM unnest([${list}]) WITH ORDINALITY t(v, i) ORDER BY i`,
  );
  return reader.getRowObjectsJS().map((r) => r.name);
}

describe('knownHostName', () => {
  test('hosts of a known source share its name, subdomains and country suffixes included', async () => {
    const hosts = ['google.com', 'google.co.uk', 'google.de', 'google.com.au', 'news.google.com'];
    expect(await names(knownHostName, hosts)).toEqual(Array(5).fill('Google'));
    expect(
      await names(knownHostName, ['t.co', 'x.com', 'twitter.com', 'mobile.twitter.com']),
    ).toEqual(Array(4).fill('Twitter'));
    expect(
      await names(knownHostName, ['l.facebook.com', 'm.facebook.com', 'facebook.com']),
    ).toEqual(Array(3).fill('Facebook'));
    expect(await names(knownHostName, ['en.m.wikipedia.org', 'de.wikipedia.org'])).toEqual([
      'Wikipedia',
      'Wikipedia',
    ]);
  });

  test('a more specific entry wins: Gmail is not Google', async () => {
    expect(await names(knownHostName, ['mail.google.com', 'com.google.android.gm'])).toEqual([
      'Gmail',
      'Gmail',
    ]);
  });

  test("Yahoo! Mail is not Yahoo!'s search engine", async () => {
    const hosts = ['mail.yahoo.com', 'mail.yahoo.co.jp', 'com.yahoo.mobile.client.android.mail'];
    expect(await names(knownHostName, [...hosts, 'search.yahoo.com', 'yahoo.co.jp'])).toEqual([
      ...['Yahoo! Mail', 'Yahoo! Mail', 'Yahoo! Mail', 'Yahoo!', 'Yahoo!'],
    ]);
  });

  test('AI assistants by name, Gemini before Google', async () => {
    const hosts = ['gemini.google.com', 'claude.ai', 'copilot.microsoft.com', 'chat.deepseek.com'];
    expect(await names(knownHostName, [...hosts, 'grok.com', 'phind.com'])).toEqual([
      ...['Google Gemini', 'Claude', 'Copilot', 'DeepSeek', 'Grok', 'Phind'],
    ]);
  });

  test('Android app referrers by their app id', async () => {
    expect(
      await names(knownHostName, [
        'com.reddit.frontpage',
        'com.google.android.googlequicksearchbox',
      ]),
    ).toEqual(['Reddit', 'Google']);
  });

  test('other hosts stay as they are, even when they contain a known name', async () => {
    const hosts = [
      'markosaric.com',
      'google.example.com',
      'notgoogle.com',
      'mygithub.com',
      'github.com.evil.net',
      'news.ycombinator.com.mirror.io',
      'google.com.evil.net',
      'evilgoogle.com',
      'x.com.example.org',
      'box.com',
      't.co.evil.io',
      'microsoft.co',
      'mail.google.com.evil.net',
      'google.evil',
      'google.co.evil',
      'murziya.ru',
      'at.me',
      'gооgle.com',
    ];
    expect(await names(knownHostName, hosts)).toEqual(hosts);
  });
});

describe('knownTagName', () => {
  test('a known name in any case, and the common shorthands, give the name', async () => {
    const tags = ['google', 'GOOGLE', 'Google', 'adwords', 'ig', 'fb', 'hacker news', 'HN'];
    expect(await names(knownTagName, tags)).toEqual([
      'Google',
      'Google',
      'Google',
      'Google',
      'Instagram',
      'Facebook',
      'Hacker News',
      'Hacker News',
    ]);
  });

  test("the ad tags Plausible reads as paid name their network's source", async () => {
    const tags = ['gads', 'google_ads', 'facebook_ads', 'fbad', 'yt-ads', 'reddit-ads'];
    expect(await names(knownTagName, [...tags, 'twitter-ads', 'tiktokads'])).toEqual([
      ...['Google', 'Google', 'Facebook', 'Facebook', 'YouTube', 'Reddit'],
      ...['Twitter', 'TikTok'],
    ]);
  });

  test('any other tag is kept as sent', async () => {
    const tags = ['newsletter', 'Spring Sale', 'google.com-partner'];
    expect(await names(knownTagName, tags)).toEqual(tags);
  });
});
