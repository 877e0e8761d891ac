// The visitor's address on Plausible's Events API, read as Plausible reads it (its RemoteIP):
// the first of these headers that is not empty, in this order, else the request's own address.
// A header sent on several lines reaches us joined, "a, b" (Fetch's Headers); Plausible takes
// the first value of each (List.first), and no address holds a comma, so its first is read.
// They are taken as sent, whatever TRUST_PROXY says, as Plausible takes them: its proxy
// recipes (and Cloudflare) set them, and server-side senders name their visitor so.

/** The headers Plausible reads, in its order of preference. */
const PLAUSIBLE_IP_HEADERS = [
  'x-plausible-ip',
  'cf-connecting-ip',
  'b-forwarded-for',
  'x-forwarded-for',
  'forwarded',
] as const;

/** For the route's docs. */
export const VISITOR_TEXT =
  'The visitor is told apart by User-Agent and the address of the first of X-Plausible-IP, ' +
  'CF-Connecting-IP, B-Forwarded-For, X-Forwarded-For (its first hop) and Forwarded (its ' +
  "first for=) that is sent, taken as sent, as Plausible reads them; else the request's. " +
  'A header sent on two lines is read by its first value, as Plausible reads it.';

/** A port after an IPv4 address (`.4:80`) or a bracketed IPv6 one (`]:80`), as Plausible's. */
const PORT = /(\.\d+|\])(:[0-9]+)$/;

/** The first `for=` of a Forwarded header, up to `;` or `,`, as Plausible's. */
const FORWARDED_FOR = /for=([^;,]+)/;

/**
 * The address the headers name, without port or brackets; undefined when none is sent (the
 * caller takes the request's address), or when the one chosen names none: a Forwarded without
 * `for=` (Plausible fails on it with a 500) or an empty first hop (`, 10.0.0.1`).
 */
export function plausibleIpOf(headers: Headers): string | undefined {
  for (const name of PLAUSIBLE_IP_HEADERS) {
    const value = headers.get(name);
    if (value === null || value === '') continue;
    const ip = addressOf(name, value);
    return ip === '' ? undefined : ip;
  }
  return undefined;
}

function addressOf(name: (typeof PLAUSIBLE_IP_HEADERS)[number], value: string): string {
  if (name === 'forwarded') {
    // Its first for= is the first line's whenever that line has one.
    const sent = FORWARDED_FOR.exec(value)?.[1];
    // An IPv6 address is quoted and bracketed: `for="[2001:db8::1]:4711"`.
    return sent === undefined ? '' : cleanIp(sent.replace(/^"+|"+$/g, ''));
  }
  // The first hop of a Forwarded-For list, or the first line of a repeated X-Plausible-IP.
  return cleanIp((value.split(',')[0] as string).trim());
}

/** Without a port and the brackets of an IPv6 address, as Plausible's `clean_ip`. */
function cleanIp(ipAndPort: string): string {
  const port = PORT.exec(ipAndPort)?.[2];
  const ip = port === undefined ? ipAndPort : ipAndPort.slice(0, -port.length);
  return ip.replace(/^\[+/, '').replace(/\]+$/, '');
}
