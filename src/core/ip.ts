// Client addresses: one spelling per address (for visitor ids and logs), the rate-limit key of
// an address, and whether it is public (only those are located in a GeoIP database). Used by
// http (the client's address), auth (its login and registration limits) and engine (country).

import { isIP } from 'node:net';
import { eventLimits } from './limits.ts';

/**
 * Characters of a client address kept at most (an IPv6 address with a zone fits): the limit
 * of the event's `ip` field, so an address cut here is one the native API would take.
 */
const IP_CHARS_MAX = eventLimits.ipCharsMax;
const IPV4_WITH_PORT = /^\d{1,3}(\.\d{1,3}){3}:\d+$/;
const BRACKETED = /^\[([^\]]+)\](:\d+)?$/;
const IPV4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * One spelling per address, so that one visitor gets one visitor_id: no brackets or port,
 * IPv6 in its canonical form (lower case, zeros compressed), IPv4-mapped IPv6 as IPv4.
 */
export function normalizeIp(raw: string): string {
  let ip = raw.trim();
  const bracketed = BRACKETED.exec(ip);
  if (bracketed !== null) ip = bracketed[1] as string;
  else if (IPV4_WITH_PORT.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  ip = ip.toLowerCase();
  if (ip.includes(':')) {
    try {
      ip = new URL(`http://[${ip}]`).hostname.slice(1, -1); // the URL parser's canonical form
    } catch {
      return ip.slice(0, IP_CHARS_MAX); // not an IPv6 address (a zone index, junk): as sent
    }
    // IPv4-mapped IPv6, canonically `::ffff:102:304`, is the IPv4 address it maps.
    const mapped = IPV4_MAPPED.exec(ip);
    if (mapped !== null) {
      const hi = Number.parseInt(mapped[1] as string, 16);
      const lo = Number.parseInt(mapped[2] as string, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
  }
  return ip.slice(0, IP_CHARS_MAX);
}

/**
 * An address a client named in its payload, in normalizeIp's spelling, when it is one (IPv4,
 * or IPv6 with or without a zone); else null: text over IP_CHARS_MAX characters, or that is no
 * address (`unknown`, a host name, a list of hops), which no country lookup could place and
 * which, hashed into a visitor id, would make one visitor of everyone who sends it.
 */
export function sentAddressOf(raw: string): string | null {
  if (raw.trim().length > IP_CHARS_MAX) return null;
  const ip = normalizeIp(raw);
  return isIP(ip) === 0 ? null : ip;
}

/** 16-bit groups of an IPv6 address. */
const IPV6_GROUPS = 8;
/** Groups of the prefix an IPv6 client is keyed by: 4 × 16 bits, a /64. */
const IPV6_PREFIX_GROUPS = 4;
const CANONICAL_IPV6 = /^[0-9a-f:]*:[0-9a-f:]*$/;

/**
 * The rate-limit key of a client address. An IPv6 client is usually handed a whole /64 (SLAAC,
 * privacy addresses), so a bucket per full address would give it 2^64 buckets: it is keyed by
 * its /64. An IPv4 address (an IPv4-mapped IPv6 one too) is keyed by the address; text that is
 * no address by itself, as normalizeIp keeps it.
 */
export function addressKeyOf(ip: string | null): string {
  if (ip === null) return 'unknown';
  const address = normalizeIp(ip);
  // normalizeIp wrote an IPv6 address in canonical form (hex groups, at most one `::`);
  // anything else with a colon is no address (a zone index, junk) and is kept as it is.
  const halves = address.split('::');
  if (!CANONICAL_IPV6.test(address) || halves.length > 2) return address;
  const partsOf = (half: string | undefined) => (half ? half.split(':') : []);
  const head = partsOf(halves[0]);
  const tail = partsOf(halves[1]);
  const missing = IPV6_GROUPS - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return address;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return `${groups.slice(0, IPV6_PREFIX_GROUPS).join(':')}::/${IPV6_PREFIX_GROUPS * 16}`;
}

/** First 16-bit group of IPv6 global unicast (2000::/3): the only block with public hosts. */
const GLOBAL_UNICAST_FIRST = 0x2000;
const GLOBAL_UNICAST_LAST = 0x3fff;

/**
 * Whether `ip` (as normalizeIp writes it) is a public address, one a GeoIP database may place:
 * not private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local, shared (CGNAT,
 * 100.64/10), "this network" (0/8, ::), documentation (192.0.2/24, 198.51.100/24,
 * 203.0.113/24, 2001:db8::/32, 3fff::/20), benchmarking (198.18/15), multicast or reserved
 * (224/3, everything of IPv6 outside 2000::/3). Text that is no address is not public.
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) {
    const [a, b, c] = ip.split('.').map(Number) as [number, number, number];
    if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
    if (a === 100) return b < 64 || b > 127;
    if (a === 169) return b !== 254;
    if (a === 172) return b < 16 || b > 31;
    if (a === 192) return b !== 168 && !(b === 0 && (c === 0 || c === 2));
    if (a === 198) return b !== 18 && b !== 19 && !(b === 51 && c === 100);
    if (a === 203) return !(b === 0 && c === 113);
    return true;
  }
  if (family !== 6 || ip.startsWith(':')) return false;
  // An empty group is where `::` stands for zeros: 3fff::1 has a second group of 0.
  const groups = ip.split(':', 2).map((g) => Number.parseInt(g || '0', 16)) as [number, number];
  const [first, second] = groups;
  if (first < GLOBAL_UNICAST_FIRST || first > GLOBAL_UNICAST_LAST) return false;
  if (first === 0x2001 && second === 0xdb8) return false;
  return !(first === 0x3fff && second < 0x1000);
}
