// The rate-limit key of a client address. An IPv6 client is usually handed a whole /64 (SLAAC,
// privacy addresses), so a bucket per full address would give it 2^64 buckets: its buckets are
// keyed by the /64. An IPv4 address, and an IPv4-mapped IPv6 one, is keyed by the address.
// Only the limiters use this; visitor ids and events keep the full address.

/** Characters of an unparsed client address kept as a key (an IPv6 address is ≤ 45). */
const ADDRESS_KEY_CHARS_MAX = 64;
/** 16-bit groups of an IPv6 address. */
const IPV6_GROUPS = 8;
/** Groups of the prefix a client is keyed by: 4 × 16 bits, a /64. */
const IPV6_PREFIX_GROUPS = 4;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/;
const IPV4_TAIL = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV4_MAPPED_MARK = 0xffff;

/** The bucket key of a client address: the /64 of IPv6, the address of IPv4. */
export function addressKeyOf(ip: string | null): string {
  if (ip === null) return 'unknown';
  const groups = ipv6GroupsOf(ip.trim().toLowerCase());
  if (groups === null) return ip.slice(0, ADDRESS_KEY_CHARS_MAX);
  if (isIpv4Mapped(groups)) {
    const [hi, lo] = groups.slice(6) as [number, number];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const prefix = groups.slice(0, IPV6_PREFIX_GROUPS).map((g) => g.toString(16));
  return `${prefix.join(':')}::/${IPV6_PREFIX_GROUPS * 16}`;
}

/** The eight groups of an IPv6 address (`::` expanded, a dotted IPv4 tail as two), or null. */
function ipv6GroupsOf(ip: string): number[] | null {
  if (!ip.includes(':')) return null;
  let text = ip;
  const tail = IPV4_TAIL.exec(ip);
  if (tail !== null) {
    const octets = tail.slice(2).map(Number);
    if (octets.some((o) => o > 255)) return null;
    const [a, b, c, d] = octets as [number, number, number, number];
    text = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const partsOf = (half: string) => (half === '' ? [] : half.split(':'));
  const head = partsOf(halves[0] as string);
  const rest = halves.length === 2 ? partsOf(halves[1] as string) : [];
  const missing = IPV6_GROUPS - head.length - rest.length;
  // Without `::` all eight groups are written; with it, it stands for at least one.
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const parts = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (!parts.every((p) => IPV6_GROUP.test(p))) return null;
  return parts.map((p) => Number.parseInt(p, 16));
}

/** `::ffff:a.b.c.d`: an IPv4 client on a dual-stack socket. */
function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === IPV4_MAPPED_MARK;
}
