// The country look-up of the ingest path (`bun bench/country-lookup.bench.ts --networks=N`):
// CountryDb.countryOf over a generated MaxMind database of N IPv4 /24 networks (default
// 100,000, a GeoLite2-Country's order) in 250 countries, in an IPv6 tree as MaxMind ships it.
// Two cases, timed by mitata: an address among the last 1,000 looked up (the map of recent
// addresses answers), and a new address every call (more distinct addresses than that map
// keeps, so each walks the tree; the decoded records stay cached, as a country database has
// few). The addresses are made before timing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bench, run, summary } from 'mitata';
import { CountryDb } from '../src/engine/country-db.ts';
import { countryRecord, type MmdbNetwork, writeMmdb } from '../test/helpers/mmdb-writer.ts';

const COUNTRIES = 250;
/** More than the map of recent addresses keeps (geoLimits.recentAddressesMax, 10,000). */
const ADDRESSES = 100_000;

const { values } = parseArgs({ options: { networks: { type: 'string', default: '100000' } } });
const count = Number(values.networks);
if (!Number.isInteger(count) || count < 1 || count > 80 * 65_536) {
  throw new Error(`--networks=${values.networks}: give a whole number from 1 to 5,242,880`);
}

/** The i-th /24 in 11.0.0.0–90.255.255.0: public, spread over the space. */
const prefixOf = (i: number) => {
  const n = (i * 40_503) % (80 * 65_536); // a stride prime to the range visits each /24 once
  return `${11 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
};
const networks: MmdbNetwork[] = [];
for (let i = 0; i < count; i++) {
  const code = `${String.fromCharCode(65 + (i % 25))}${String.fromCharCode(66 + (i % 10))}`;
  const record = countryRecord(code, `c${i % COUNTRIES}`);
  networks.push({ network: `${prefixOf(i)}.0/24`, record });
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-country-'));
const file = path.join(dir, 'countries.mmdb');
fs.writeFileSync(file, writeMmdb(networks, { databaseType: 'GeoLite2-Country' }));
const db = CountryDb.open(file);
fs.rmSync(dir, { recursive: true, force: true });

const addresses = Array.from({ length: ADDRESSES }, (_, i) => `${prefixOf(i % count)}.${i % 250}`);
/** Fewer than the map keeps: each call a different string, as each request brings its own. */
const RECENT = 1_000;
for (let i = 0; i < RECENT; i++) db.countryOf(addresses[i] as string);
let nextRecent = 0;
let next = 0;

summary(() => {
  bench('countryOf, a recent address', () => {
    nextRecent = (nextRecent + 1) % RECENT;
    return db.countryOf(addresses[nextRecent] as string);
  });
  bench('countryOf, a new address (tree walk)', () => {
    next = (next + 1) % ADDRESSES;
    return db.countryOf(addresses[next] as string);
  });
});
console.log(`${count.toLocaleString('en-US')} networks, bun ${Bun.version}`);
await run();
