// Page URLs and referrers over the url limit (http/compat/fitted-fields.ts), as the README
// states them: kept without the query and #fragment, cut to the limit when even that is over,
// and never refused, parseable or not; Umami's path with its hash only when the two fit.

import { describe, expect, test } from 'bun:test';
import { eventLimits } from '../../src/core/index.ts';
import { fittedPageUrl, fittedUrl, pathWithHash } from '../../src/http/compat/fitted-fields.ts';

const MAX = eventLimits.urlCharsMax;

describe('fittedUrl', () => {
  test('within the limit: as sent, query and fragment kept', () => {
    const url = `https://example.com/a?q=1#/x${'x'.repeat(MAX - 30)}`;
    expect(url.length).toBeLessThanOrEqual(MAX);
    expect(fittedUrl(url)).toBe(url);
  });

  test('over it: without the query and the fragment', () => {
    expect(fittedUrl(`https://example.com/a?gclid=${'g'.repeat(MAX)}#top`)).toBe(
      'https://example.com/a',
    );
    expect(fittedUrl(`https://example.com/app#/${'h'.repeat(MAX)}`)).toBe(
      'https://example.com/app',
    );
    // A `?` inside the fragment is the fragment's.
    expect(fittedUrl(`https://example.com/b#/r?x=${'y'.repeat(MAX)}`)).toBe(
      'https://example.com/b',
    );
  });

  test('still over without them: cut to the limit, never between a surrogate pair', () => {
    const long = `https://example.com/${'p'.repeat(MAX)}?q=1`;
    expect(fittedUrl(long)).toBe(long.slice(0, MAX));
    const emoji = `https://example.com/${'😀'.repeat(MAX)}`;
    const cut = fittedUrl(emoji);
    expect(cut.length).toBeLessThanOrEqual(MAX);
    expect(cut.isWellFormed()).toBe(true);
  });

  test('a URL no parser reads is cut as text, not refused', () => {
    const bad = `http://[bad/${'a'.repeat(MAX)}`;
    expect(fittedUrl(bad)).toBe(bad.slice(0, MAX));
  });
});

describe('fittedPageUrl', () => {
  test('over the limit: every campaign tag and click id the README names kept, no other', () => {
    // README: "a url with its campaign tags and ad click ids (`utm_*`, `source`, `ref`, `gclid`,
    // `gbraid`, `wbraid`, `msclkid`: the visit keeps its source)".
    const kept = [
      'utm_source=a',
      'utm_medium=b',
      'utm_campaign=c',
      'utm_content=d',
      'utm_term=e',
      'source=f',
      'ref=g',
      'gclid=h',
      'gbraid=i',
      'wbraid=j',
      'msclkid=k',
    ];
    const long = `https://example.com/in?token=${'t'.repeat(MAX)}&${kept.join('&')}&fbclid=x#top`;
    expect(fittedPageUrl(long)).toBe(`https://example.com/in?${kept.join('&')}`);
    // Within the limit a URL is kept whole.
    const short = `https://example.com/in?token=t&${kept.join('&')}&fbclid=x#top`;
    expect(fittedPageUrl(short)).toBe(short);
  });
});

describe('pathWithHash', () => {
  test("the path and the URL's hash, as Umami's url_path", () => {
    expect(pathWithHash('https://example.com/app#/settings')).toBe('/app#/settings');
    expect(pathWithHash('/app?tab=2#/team')).toBe('/app#/team');
    expect(pathWithHash('https://example.com/a')).toBe('/a');
  });

  test('the path alone when the two are over the path limit; none for no URL', () => {
    expect(pathWithHash(`https://example.com/app#/${'h'.repeat(MAX)}`)).toBe('/app');
    expect(pathWithHash(`https://example.com/${'p'.repeat(MAX + 10)}#x`)).toHaveLength(MAX);
    expect(pathWithHash('http://[bad/')).toBeUndefined();
    expect(pathWithHash('')).toBeUndefined();
  });
});
