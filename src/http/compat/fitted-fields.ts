// Text that the SDK protocols keep, cut, where the unified event would refuse it. Umami cuts a
// page URL, a referrer, an event name, a distinct id and the page fields to its columns
// (`FIELD_LENGTH` in its src/lib/constants.ts); Plausible cuts a referrer to 2,000 characters;
// Segment (32 KB a message) and PostHog store a browser's page URL, referrer and user agent
// however long. The unified event refuses text over its limits (a 422), which would lose a
// page view the original service stores, so these protocols fit such text to Tally's limits
// first. And the path of a page with its hash route, as Umami stores every page and Plausible
// in hash mode.

import { createHash } from 'node:crypto';
import { assert, cutToChars, eventLimits, pathOfUrl, sentAddressOf } from '../../core/index.ts';

/** Hex digits of the SHA-256 that ends an id fitted to idCharsMax (64 bits). */
const FITTED_ID_DIGEST_CHARS = 16;
assert(eventLimits.eventIdCharsMax >= eventLimits.idCharsMax, 'a fitted id fits an event_id');
assert(eventLimits.nameCharsMax > FITTED_ID_DIGEST_CHARS + 1, 'a fitted name keeps its start');

/**
 * An id as stored (PostHog's distinct_id and `$session_id`, Segment's messageId as event_id): as
 * sent when it fits idCharsMax, else its first characters, `~` and the first
 * FITTED_ID_DIGEST_CHARS hex digits of the SHA-256 of the whole id, idCharsMax in all. The same
 * id is always the same person, session or event; two ids alike in their first 128 characters
 * (a composite `org:team:…:user` key) stay two, where a plain cut made them one for good.
 */
export function fittedIdOf(id: string): string {
  return fittedTextOf(id, eventLimits.idCharsMax);
}

/**
 * Text fitted to `charsMax` characters as an id is (fittedIdOf): as sent when it fits, else its
 * start, `~` and a digest of the whole; the same text is always the same stored text, and two
 * alike in their start stay two (a Segment track's event name, which Segment takes whole).
 */
export function fittedTextOf(text: string, charsMax: number): string {
  if (text.length <= charsMax) return text;
  const digest = createHash('sha256').update(text, 'utf8').digest('hex');
  const kept = cutToChars(text, charsMax - FITTED_ID_DIGEST_CHARS - 1);
  return `${kept}~${digest.slice(0, FITTED_ID_DIGEST_CHARS)}`;
}

/**
 * A page or referrer URL within the url limit: as sent; else without its query and fragment
 * (ad-click ids, OAuth callbacks and tracking tokens make URLs long, while the page and the
 * referring site are what reads use); else cut.
 */
export function fittedUrl(url: string): string {
  if (url.length <= eventLimits.urlCharsMax) return url;
  const withoutQuery = url.split(/[?#]/, 1)[0] ?? '';
  return cutToChars(withoutQuery, eventLimits.urlCharsMax);
}

/**
 * The query parameters the reads take from a page's URL: its source and campaign tags (Plausible
 * and Umami keep them apart from the URL, its query cut or not) and the ad click ids a channel is
 * told by (query/referrer-source.ts, channel-sql.ts, web-properties.ts).
 */
const READ_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'source',
  'ref',
  'gclid',
  'gbraid',
  'wbraid',
  'msclkid',
]);

/**
 * The query of `url` with only its READ_QUERY_PARAMS pairs, in their order (a read takes a
 * parameter's first), as `?a=1&b=2`; '' when it has none.
 */
export function readQueryOf(url: string): string {
  const query = /^[^?#]*\?([^#]*)/.exec(url)?.[1] ?? '';
  const kept = query
    .split('&')
    .filter((pair) => READ_QUERY_PARAMS.has(pair.split('=', 1)[0] ?? ''));
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

/**
 * A page URL within the url limit, as fittedUrl, but keeping the campaign tags and click ids of
 * its query (readQueryOf) when they fit: a landing page's URL made long by a token or a long
 * ad-click id must not lose the utm_source its visit is credited to.
 */
export function fittedPageUrl(url: string): string {
  if (url.length <= eventLimits.urlCharsMax) return url;
  const tagged = `${url.split(/[?#]/, 1)[0] ?? ''}${readQueryOf(url)}`;
  return tagged.length <= eventLimits.urlCharsMax ? tagged : fittedUrl(url);
}

/** fittedPageUrl of a page URL that may be absent. */
export function fittedPageUrlOf(url: string | undefined): string | undefined {
  return url === undefined ? undefined : fittedPageUrl(url);
}

/** fittedUrl of a URL that may be absent. */
export function fittedUrlOf(url: string | undefined): string | undefined {
  return url === undefined ? undefined : fittedUrl(url);
}

/**
 * A client address an SDK sent (Segment's `context.ip`, PostHog's `$ip`, Umami's `ip`): the
 * address when it is one (sentAddressOf), else none, and the event is stored as if it came
 * without one. An address only places the country and hashes the visitor, and the SDK's user
 * cannot fix what it sends: refused, the event was lost (the unified event's 422 for an `ip`
 * over 64 characters).
 */
export function sentIpOf(ip: string | undefined): string | undefined {
  return ip === undefined ? undefined : (sentAddressOf(ip) ?? undefined);
}

/** `text`, when there is one, cut to at most `charsMax` characters. */
export function cutTextOf(text: string | undefined, charsMax: number): string | undefined {
  return text === undefined ? undefined : cutToChars(text, charsMax);
}

/**
 * The path of `url` followed by its `#fragment` (percent-encoded, as the path is), so that the
 * routes of a hash-routed app are pages of their own; the path alone when the two are over the
 * path limit together or the URL has no fragment. Undefined for a URL without a path.
 */
export function pathWithHash(url: string): string | undefined {
  const path = pathOfUrl(url);
  if (path === null) return undefined;
  let hash = '';
  try {
    hash = new URL(url, 'http://relative.invalid').hash;
  } catch {
    return path;
  }
  const routed = `${path}${hash}`;
  return routed.length <= eventLimits.urlCharsMax ? routed : path;
}
