// The country a proxy in front of Umami names for its client, read as Umami's getLocation reads
// it when the payload names no `ip`: Cloudflare's `CF-IPCountry`, else Vercel's
// `X-Vercel-IP-Country`, else CloudFront's `CloudFront-Viewer-Country`, before any database
// look-up. So a site behind one of them has countries without a GeoIP database, as on Umami.
// A code is two letters (upper-cased); Cloudflare's `XX` (unknown) and `T1` (Tor), and `ZZ`,
// are no country, and the next header or the database is asked instead.

/** The headers Umami reads a country from, in its order. */
const COUNTRY_HEADERS = ['cf-ipcountry', 'x-vercel-ip-country', 'cloudfront-viewer-country'];

/** Codes that name no country: unknown (Cloudflare's XX, the ISO user-assigned ZZ). */
const NO_COUNTRY = new Set(['XX', 'ZZ']);

/** The client's country as the first of COUNTRY_HEADERS that names one, else undefined. */
export function edgeCountryOf(headers: Headers): string | undefined {
  for (const name of COUNTRY_HEADERS) {
    const code = headers.get(name)?.trim().toUpperCase();
    if (code !== undefined && /^[A-Z]{2}$/.test(code) && !NO_COUNTRY.has(code)) return code;
  }
  return undefined;
}
