// The path of a page URL, as an event stores it when the client sent a url but no path. The
// URL parser percent-encodes every non-ASCII character (one 'é' becomes the six characters
// "%C3%A9"), so a url within its limit can give a path up to nine times longer: the derived
// path is held to the path limit, cut where a whole character ends.

import { eventLimits } from './limits.ts';

/** UTF-8 continuation bytes are 0b10xxxxxx; lead bytes tell how many follow them. */
const CONTINUATION_MIN = 0x80;
const LEAD_MIN = 0xc0;
const LEAD_OF_3_MIN = 0xe0;
const LEAD_OF_4_MIN = 0xf0;
/** A UTF-8 character is at most 4 bytes: a lead and 3 continuation bytes. */
const CONTINUATIONS_MAX = 3;
const ESCAPE_CHARS = 3; // "%XX"
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/**
 * The path of an absolute or relative URL, or null when it has none (an empty url); a path
 * longer than eventLimits.urlCharsMax is cut to it (the event is kept: a page view matters more
 * than the tail of a path).
 */
export function pathOfUrl(url: string): string | null {
  // An empty url names no page; resolved against the base it would be "/", the home page.
  if (url.trim() === '') return null;
  let path: string;
  try {
    path = new URL(url, 'http://relative.invalid').pathname;
  } catch {
    return null;
  }
  return path === '' ? null : cutEncodedPath(path, eventLimits.urlCharsMax);
}

/**
 * `path` (percent-encoded, hence ASCII) cut to at most `charsMax` characters, never within a
 * "%XX" escape nor within the escapes of one UTF-8 character, so the cut path still decodes.
 */
function cutEncodedPath(path: string, charsMax: number): string {
  if (path.length <= charsMax) return path;
  let end = charsMax;
  const percent = path.lastIndexOf('%', end - 1);
  if (percent !== -1 && percent > end - ESCAPE_CHARS) end = percent;
  // Back over the trailing escapes to the lead byte of the last character they spell.
  let start = end;
  let continuations = 0;
  while (start >= ESCAPE_CHARS) {
    const byte = escapedByteAt(path, start - ESCAPE_CHARS);
    if (byte === null) break;
    start -= ESCAPE_CHARS;
    if (byte >= CONTINUATION_MIN && byte < LEAD_MIN) {
      continuations++;
      if (continuations > CONTINUATIONS_MAX) break; // not UTF-8 the parser wrote: kept as is
      continue;
    }
    if (continuationsAfter(byte) > continuations) end = start; // the character is cut: drop it
    break;
  }
  return path.slice(0, end);
}

/** The byte a "%XX" escape at `at` spells, or null when there is none there. */
function escapedByteAt(path: string, at: number): number | null {
  if (path[at] !== '%') return null;
  const hex = path.slice(at + 1, at + ESCAPE_CHARS);
  return HEX_PAIR.test(hex) ? Number.parseInt(hex, 16) : null;
}

/** How many continuation bytes follow a lead byte (0 for ASCII). */
function continuationsAfter(lead: number): number {
  if (lead >= LEAD_OF_4_MIN) return 3;
  if (lead >= LEAD_OF_3_MIN) return 2;
  if (lead >= LEAD_MIN) return 1;
  return 0;
}
