// The traffic source of an event as Plausible's "Sources" panel names it, as DuckDB
// expressions over a row with the event's `url` and `referrer`: the page URL's `utm_source`
// (else `source`, else `ref`, as Plausible reads them), decoded and trimmed, case as sent; else
// the referrer's host name, lower-case, without a leading "www." or a trailing dot; else
// DIRECT_SOURCE. A referrer on the page's own host (after the same normalizing) is a visitor
// moving within the site, no referrer: DIRECT_SOURCE too, as Plausible's ingest drops an
// internal referrer. A referrer without "scheme://" is read as starting with its host
// ("google.com/x" → google.com), so Android app referrers ("android-app://com.google.android.gm/")
// give the app id. /stats credits each visit to the source of its first event (visit-stats.ts).

import { knownHostName, knownTagName } from './known-sources.ts';

/** Plausible's label for events without a referrer. */
export const DIRECT_SOURCE = 'Direct / None';

/**
 * Referrers that name no place: what a script sends for an empty `document.referrer` turned
 * into text (`null`, `undefined`) and a browser's own pages (`about:blank`): Direct.
 */
const NO_REFERRER_RE = '^(?i)(null|undefined|about:.*)$';

/** Query parameters naming the source, by precedence (Plausible's order). */
const SOURCE_PARAMS = ['utm_source', 'source', 'ref'] as const;

/** [scheme://][userinfo@]host — an IPv6 literal in brackets or up to the first :/?#. */
const HOST_RE = String.raw`^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)`;

/**
 * The value of query parameter `name` of `url` ('' when absent), '+' read as a space; kept
 * encoded when its escapes do not spell UTF-8 (url_decode would fail the whole read). Of a
 * parameter given twice the first (README), as the campaign lists read it (visit-stats.ts):
 * the pairs before it are skipped lazily (`??`, `*?`), where a greedy skip took the last.
 */
export function queryParam(url: string, name: string): string {
  const re = String.raw`^[^?#]*\?(?:[^#]*?&)??${name}=([^&#]*)`;
  const value = `replace(regexp_extract(${url}, '${re}', 1), '+', ' ')`;
  return `coalesce(try(url_decode(${value})), ${value})`;
}

/**
 * The host of a URL (or of text read as one): lower-case, without "www." or the trailing dot
 * of a fully qualified name ("google.com." is google.com); '' when none.
 */
function hostOf(text: string): string {
  const host = `lower(regexp_extract(trim(${text}), '${HOST_RE}', 1))`;
  return `coalesce(regexp_replace(${host}, '^www\\.|\\.+$', '', 'g'), '')`;
}

/**
 * The columns `utm`, `referrer_host` and `page_host` of an event, for referrerSourceOf;
 * apart so that each is computed once per event.
 */
export function referrerSourceParts(alias: string): string {
  const url = `${alias}."url"`;
  const params = SOURCE_PARAMS.map((name) => `nullif(trim(${queryParam(url, name)}), '')`);
  // The regular expressions only for a url with a query: most have none (or no url at all).
  const referrer = `${alias}."referrer"`;
  return `CASE WHEN contains(${url}, '?') THEN coalesce(${params.join(', ')}) END AS utm,
    CASE WHEN regexp_matches(trim(${referrer}), '${NO_REFERRER_RE}') THEN ''
      ELSE ${hostOf(referrer)} END AS referrer_host,
    ${hostOf(url)} AS page_host`;
}

/**
 * Whether a row of referrerSourceParts came from nowhere: no referrer, a developer's own
 * machine (`localhost`), or the site's own host (a visitor moving within the site).
 */
const FROM_NOWHERE = "referrer_host IN ('', 'localhost') OR referrer_host = page_host";

/**
 * The source over the columns referrerSourceParts selects, a well-known one by its name
 * (known-sources.ts: google.co.uk and utm_source=google are both Google). A `localhost`
 * referrer is a developer's own machine, not a source: Direct, as Plausible counts it.
 */
export function referrerSourceOf(): string {
  return `coalesce(${knownTagName('utm')}, CASE
      WHEN ${FROM_NOWHERE} THEN '${DIRECT_SOURCE}'
      ELSE ${knownHostName('referrer_host')}
    END)`;
}

/**
 * The referrer as Plausible lists it (its `visit:referrer`), over the columns
 * referrerSourceParts selects and the row's `referrer`: without scheme, "www.", query,
 * fragment and trailing "/" (`https://www.t.co/abc?x=1` is t.co/abc); a visit that
 * referrerSourceOf counts as Direct (no referrer, localhost, the site's own host) is
 * DIRECT_SOURCE.
 */
export function referrerTextOf(): string {
  const re = String.raw`^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^/?#@]*@)?(?:www\.)?([^?#]*)`;
  return `CASE WHEN ${FROM_NOWHERE} THEN '${DIRECT_SOURCE}'
      ELSE rtrim(regexp_extract(trim("referrer"), '${re}', 1), '/') END`;
}

/**
 * The referrer's host (lower-case, without "www."), as Umami lists a referrer domain, over the
 * columns referrerSourceParts selects; NULL where referrerSourceOf counts Direct.
 */
export function referrerHostOf(): string {
  return `CASE WHEN ${FROM_NOWHERE} THEN NULL ELSE referrer_host END`;
}
