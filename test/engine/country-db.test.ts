// The GeoIP country database (GEOIP_DB): the test writer's files read by mmdb-lib, the checks
// at open that refuse a file which is not a country database, and the country of an address.

import { afterAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Reader } from 'mmdb-lib';
import { geoLimits } from '../../src/core/index.ts';
import { CountryDb, CountryDbError } from '../../src/engine/index.ts';
import {
  countryRecord,
  type MmdbNetwork,
  TEST_NETWORKS,
  writeMmdb,
} from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const { dir, remove } = makeTempDir('tally-geoip-');
afterAll(remove);

let files = 0;
function fileWith(bytes: Buffer | string): string {
  const file = path.join(dir, `db-${files++}.mmdb`);
  fs.writeFileSync(file, bytes);
  return file;
}

const open = (bytes: Buffer | string) => CountryDb.open(fileWith(bytes));

describe('the test writer', () => {
  test('writes IPv6 and IPv4 databases that mmdb-lib reads', () => {
    const reader = new Reader(writeMmdb(TEST_NETWORKS));
    expect(reader.metadata).toMatchObject({
      binaryFormatMajorVersion: 2,
      ipVersion: 6,
      recordSize: 24,
      databaseType: 'Tally-Test-Country',
    });
    expect(reader.get('81.2.69.160')).toEqual(countryRecord('GB', 'United Kingdom'));
    expect(reader.getWithPrefixLength('216.160.83.61')).toEqual([
      countryRecord('US', 'United States'),
      29,
    ]);
    expect(reader.get('2a02:ffc0:1234::1')).toEqual(countryRecord('GI', 'Gibraltar'));
    expect(reader.get('8.8.8.8')).toBeNull();
    expect(reader.get('2a02:ffc1::1')).toBeNull();
    const v4 = new Reader(writeMmdb(TEST_NETWORKS.slice(0, 3), { ipVersion: 4 }));
    expect(v4.metadata.ipVersion).toBe(4);
    expect(v4.get('89.160.20.112')).toEqual(countryRecord('SE', 'Sweden'));
    expect(v4.get('89.160.21.1')).toBeNull();
  });
});

describe('CountryDb.open', () => {
  test('refuses a file it cannot read', () => {
    expect(() => CountryDb.open(path.join(dir, 'missing.mmdb'))).toThrow(
      /cannot read the file \(ENOENT/,
    );
    expect(() => CountryDb.open(dir)).toThrow('it is not a regular file');
  });

  test('refuses a named pipe or a device without reading it (the start would hang)', () => {
    const fifo = path.join(dir, 'pipe.mmdb');
    expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0);
    // Read, a pipe no one writes to blocks for ever, and /dev/zero never ends.
    expect(() => CountryDb.open(fifo)).toThrow(new CountryDbError('it is not a regular file'));
    expect(() => CountryDb.open('/dev/zero')).toThrow(
      new CountryDbError('it is not a regular file'),
    );
  });

  test('refuses a file that is not a MaxMind DB', () => {
    expect(() => open('network,country_iso_code\n81.2.69.0/24,GB\n')).toThrow(CountryDbError);
    expect(() => open('network,country_iso_code\n81.2.69.0/24,GB\n')).toThrow(
      /not a MaxMind DB file \(\.mmdb\): no metadata marker/,
    );
    expect(() => open(Buffer.alloc(0))).toThrow(/no metadata marker/);
    // The marker, then no metadata map.
    const marker = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
    expect(() => open(Buffer.concat([Buffer.from('junk'), marker]))).toThrow(
      /not a MaxMind DB file: its metadata cannot be read/,
    );
  });

  // README Settings (GEOIP_DB): a `.gz` not unpacked is refused, as downloaded from DB-IP.
  test('refuses a database still gzipped, saying it is not a MaxMind DB', () => {
    const gzipped = gzipSync(writeMmdb(TEST_NETWORKS));
    expect(() => open(gzipped)).toThrow(CountryDbError);
    expect(() => open(gzipped)).toThrow(/not a MaxMind DB file \(\.mmdb\): no metadata marker/);
  });

  test('refuses a database cut short', () => {
    const whole = writeMmdb(TEST_NETWORKS);
    const marker = whole.lastIndexOf(Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'));
    // The metadata kept, most of the tree and data gone.
    const cut = Buffer.concat([whole.subarray(0, 100), whole.subarray(marker)]);
    expect(() => open(cut)).toThrow(/cut short|damaged/);
  });

  test('refuses a database whose records carry no country.iso_code', () => {
    const asn: MmdbNetwork[] = [
      {
        network: '81.2.69.0/24',
        record: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews' },
      },
    ];
    expect(() => open(writeMmdb(asn, { databaseType: 'GeoLite2-ASN' }))).toThrow(
      /records carry no country.iso_code \(database type GeoLite2-ASN\)/,
    );
    // IPinfo's layout: the country as a plain string.
    const flat: MmdbNetwork[] = [{ network: '81.2.69.0/24', record: { country: 'GB' } }];
    expect(() => open(writeMmdb(flat))).toThrow(/no country.iso_code/);
    expect(() => open(writeMmdb([]))).toThrow(/holds no network with data/);
  });

  test('takes a database whose first records have no country but a later one has', () => {
    const networks: MmdbNetwork[] = [
      { network: '1.0.0.0/24', record: { continent: { code: 'OC' } } },
      { network: '5.0.0.0/8', record: { continent: { code: 'EU' } } },
      ...TEST_NETWORKS,
    ];
    const db = open(writeMmdb(networks));
    expect(db.countryOf('81.2.69.160')).toBe('GB');
    expect(db.info).toEqual({
      database_type: 'Tally-Test-Country',
      built_at: '2026-01-01T00:00:00.000Z',
    });
  });
});

describe('countryOf', () => {
  const db = open(writeMmdb(TEST_NETWORKS));

  test('the country of a public address, IPv4 or IPv6', () => {
    expect(db.countryOf('81.2.69.160')).toBe('GB');
    expect(db.countryOf('89.160.20.128')).toBe('SE');
    expect(db.countryOf('216.160.83.56')).toBe('US');
    expect(db.countryOf('216.160.83.64')).toBeNull(); // just past the /29
    expect(db.countryOf('2a02:ffc0::8')).toBe('GI');
    expect(db.countryOf('2001:480:10::1')).toBe('US');
    expect(db.countryOf('8.8.8.8')).toBeNull(); // not in the database
  });

  test('no country for private, loopback or reserved addresses, even in the database', () => {
    const covering = open(
      writeMmdb([
        { network: '10.0.0.0/8', record: countryRecord('DE', 'Germany') },
        { network: '127.0.0.0/8', record: countryRecord('DE', 'Germany') },
        { network: '192.168.0.0/16', record: countryRecord('DE', 'Germany') },
        { network: '203.0.113.0/24', record: countryRecord('DE', 'Germany') },
        { network: 'fc00::/7', record: countryRecord('DE', 'Germany') },
        { network: '81.2.69.0/24', record: countryRecord('GB', 'United Kingdom') },
      ]),
    );
    for (const ip of ['10.1.2.3', '127.0.0.1', '192.168.1.20', '203.0.113.9', 'fd00::1', '::1']) {
      expect([ip, covering.countryOf(ip)]).toEqual([ip, null]);
    }
    expect(covering.countryOf('81.2.69.1')).toBe('GB');
  });

  test('no country for no address or text that is none', () => {
    for (const junk of [null, '', 'unknown', 'fe80::1%eth0', '81.2.69', '081.2.69.160']) {
      expect(db.countryOf(junk)).toBeNull();
    }
  });

  test('codes are two letters, upper case; ZZ is unknown; else the registered country', () => {
    const odd = open(
      writeMmdb([
        { network: '81.2.69.0/24', record: countryRecord('gb', 'United Kingdom') },
        { network: '89.160.20.0/24', record: countryRecord('ZZ', 'Unknown') },
        { network: '89.160.21.0/24', record: countryRecord('EUR', 'Europe') },
        {
          network: '216.160.83.56/29',
          record: { registered_country: { iso_code: 'US', names: { en: 'United States' } } },
        },
      ]),
    );
    expect(odd.countryOf('81.2.69.1')).toBe('GB');
    expect(odd.countryOf('89.160.20.1')).toBeNull();
    expect(odd.countryOf('89.160.21.1')).toBeNull();
    expect(odd.countryOf('216.160.83.57')).toBe('US');
  });

  test('an IPv4-only database has no country for IPv6 addresses', () => {
    const v4 = open(writeMmdb(TEST_NETWORKS.slice(0, 3), { ipVersion: 4 }));
    expect(v4.countryOf('81.2.69.160')).toBe('GB');
    expect(v4.countryOf('2a02:ffc0::8')).toBeNull();
  });

  test('addresses looked up again, past the bound of those remembered, keep their country', () => {
    const seen: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < geoLimits.recentAddressesMax + 500; i++) {
        const ip = `2a02:ffc0::${i.toString(16)}`;
        if (db.countryOf(ip) !== 'GI') seen.push(ip);
      }
    }
    expect(seen).toEqual([]);
    for (let i = 0; i < 300; i++) expect(db.countryOf(`81.2.69.${i % 256}`)).toBe('GB');
  });
});
