// GEOIP_DB in the real process: a file that is not a usable country database stops the start
// (exit 2, a message naming the setting) before the server listens or takes the data
// directory; a good one is logged, and events sent over a real socket get the country of the
// socket peer, or behind TRUST_PROXY of the last X-Forwarded-For hop.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countryRecord, writeMmdb, writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { killServers, spawnServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const { dir, remove } = makeTempDir('tally-geoip-');
afterAll(remove);
afterEach(killServers);

/** Starts `bun src/main.ts` with GEOIP_DB=`file` and waits for it to exit; code and stderr. */
async function refusedStart(file: string): Promise<{ code: number; stderr: string }> {
  const dataDir = path.join(dir, `data-${crypto.randomUUID()}`);
  const proc = spawnServer({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, GEOIP_DB: file });
  const [code, stderr, stdout] = await Promise.all([
    proc.exited,
    new Response(proc.stderr).text(),
    new Response(proc.stdout).text(),
  ]);
  expect(stdout).not.toContain('"msg":"listening"');
  expect(fs.existsSync(dataDir)).toBe(false); // refused before the data directory was made
  return { code, stderr };
}

describe('GEOIP_DB at start', () => {
  test('a missing file, or one that is not a country database, stops the start', async () => {
    const missing = path.join(dir, 'missing.mmdb');
    expect(await refusedStart(missing)).toEqual({
      code: 2,
      stderr:
        'tally: invalid configuration:\n' +
        `  GEOIP_DB="${missing}": cannot read the file (ENOENT: no such file or directory, ` +
        `open '${missing}')\n`,
    });
    const csv = path.join(dir, 'countries.csv');
    fs.writeFileSync(csv, 'network,country_iso_code\n81.2.69.0/24,GB\n');
    const notMmdb = await refusedStart(csv);
    expect(notMmdb.code).toBe(2);
    expect(notMmdb.stderr).toContain(`GEOIP_DB="${csv}": not a MaxMind DB file (.mmdb)`);
    const asn = path.join(dir, 'asn.mmdb');
    const asnRecord = { autonomous_system_number: 20712 };
    fs.writeFileSync(asn, writeMmdb([{ network: '81.2.69.0/24', record: asnRecord }]));
    const noCountry = await refusedStart(asn);
    expect(noCountry.code).toBe(2);
    expect(noCountry.stderr).toContain('records carry no country.iso_code');
  });

  test('a country database is logged; events get the country of the client', async () => {
    const db = writeTestCountryDb(dir);
    const send = (url: string, forwarded: string) =>
      fetch(`${url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
        body: JSON.stringify({ event_id: `e-${forwarded}`, name: 'page_view' }),
      });
    const countryOf = async (url: string, forwarded: string) => {
      const res = await fetch(`${url}/api/v1/events/e-${forwarded}`);
      return ((await res.json()) as { country: unknown }).country;
    };

    // Not behind a trusted proxy: the socket peer, 127.0.0.1 here, which has no country.
    const direct = await startServer(path.join(dir, 'direct'), { GEOIP_DB: db });
    const geoLine = direct.lines.find((l) => l.includes('"msg":"countries from GEOIP_DB"'));
    expect(JSON.parse(geoLine as string)).toMatchObject({
      file: db,
      database_type: 'Tally-Test-Country',
      built_at: '2026-01-01T00:00:00.000Z',
    });
    expect((await send(direct.url, '81.2.69.160')).status).toBe(202);
    expect(await countryOf(direct.url, '81.2.69.160')).toBeNull();
    direct.kill();

    const proxied = await startServer(path.join(dir, 'proxied'), {
      GEOIP_DB: db,
      TRUST_PROXY: 'true',
    });
    for (const [forwarded, country] of [
      ['81.2.69.160', 'GB'],
      ['6.6.6.6, 2a02:ffc0::7', 'GI'],
      ['81.2.69.160, 10.0.0.1', null],
    ] as const) {
      expect((await send(proxied.url, forwarded)).status).toBe(202);
      expect([forwarded, await countryOf(proxied.url, forwarded)]).toEqual([forwarded, country]);
    }
  });

  test('a country database with IPv4 networks only is taken as well', async () => {
    const v4 = path.join(dir, 'v4.mmdb');
    const networks = [{ network: '81.2.69.0/24', record: countryRecord('GB', 'United Kingdom') }];
    fs.writeFileSync(v4, writeMmdb(networks, { ipVersion: 4 }));
    const server = await startServer(path.join(dir, 'v4'), { GEOIP_DB: v4 });
    expect(server.lines.some((l) => l.includes('"msg":"countries from GEOIP_DB"'))).toBe(true);
  });
});
