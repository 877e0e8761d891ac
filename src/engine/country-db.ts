// Countries of client addresses, from a GeoIP database in MaxMind's format (.mmdb): DB-IP's "IP
// to Country Lite" (CC BY 4.0), MaxMind's GeoLite2-Country or GeoIP2-Country, or a city
// database of either (they carry the country too). As self-hosted Plausible and Umami do.
//
// The file is read whole into memory once, at start (GEOIP_DB), and checked there: a regular
// file (a pipe or device is refused unread), a MaxMind DB of format 2 whose tree fits the
// file, and whose records carry `country.iso_code` (the first records in address order are
// read), so a wrong file stops the start instead of leaving every event without a country.
// A look-up walks the tree in that buffer (mmdb-lib's Reader, no I/O), ~1–3 µs here; decoded
// records are cached, as a country database has a few thousand distinct ones, and so are the
// countries of recent addresses (a visitor's events come from one address). Only public
// addresses are looked up (core isPublicAddress): a private, loopback or reserved one, or text
// that is no address, has no country. The code is `country.iso_code`, else
// `registered_country.iso_code` (as Umami does), upper case; "ZZ" (unknown) or anything but
// two letters is no country.
//
// The database is what it was at start: an update is read by the next start, and events
// stored before keep the country they were given.

import * as fs from 'node:fs';
import { type CountryResponse, Reader } from 'mmdb-lib';
import { geoLimits, isPublicAddress } from '../core/index.ts';

/** GEOIP_DB names a file that is not a usable country database; the message says why. */
export class CountryDbError extends Error {
  override name = 'CountryDbError';
}

/** The country of a client address: ISO 3166-1 alpha-2, upper case, or null. */
export interface CountryLookup {
  countryOf(ip: string | null): string | null;
}

/** What the database says of itself, as the log at start shows it. */
export interface CountryDbInfo {
  database_type: string;
  built_at: string;
}

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
const DATA_SECTION_SEPARATOR_BYTES = 16;
const ISO_CODE = /^[A-Za-z]{2}$/;
const UNKNOWN_COUNTRY = 'ZZ';

export class CountryDb implements CountryLookup {
  private readonly ipv4Only: boolean;
  /** The countries of addresses looked up lately: a map read costs less than a tree walk. */
  private readonly recent = new Map<string, string | null>();
  readonly info: CountryDbInfo;

  private constructor(private readonly reader: Reader<CountryResponse>) {
    const { metadata } = reader;
    this.ipv4Only = metadata.ipVersion === 4;
    this.info = {
      database_type: String(metadata.databaseType),
      built_at: metadata.buildEpoch.toISOString(),
    };
  }

  /** Reads and checks the database at `file`; throws CountryDbError saying what is wrong. */
  static open(file: string): CountryDb {
    const reader = readerOf(readDbFile(file));
    checkRecords(reader);
    return new CountryDb(reader);
  }

  countryOf(ip: string | null): string | null {
    if (ip === null) return null;
    const known = this.recent.get(ip);
    if (known !== undefined) return known;
    const country = this.lookUp(ip);
    // Bounded: a full map starts over (a visitor's next events come from the same address).
    if (this.recent.size >= geoLimits.recentAddressesMax) this.recent.clear();
    this.recent.set(ip, country);
    return country;
  }

  private lookUp(ip: string): string | null {
    if (!isPublicAddress(ip)) return null;
    if (this.ipv4Only && ip.includes(':')) return null; // no IPv6 in the database
    let record: CountryResponse | null;
    try {
      record = this.reader.get(ip);
    } catch {
      // The file was checked at start, but not every record in it: a damaged one is no
      // country for its network, not a failed ingest.
      return null;
    }
    return codeOf(record);
  }
}

/** The country code of a record: country, else registered country; null for none or "ZZ". */
function codeOf(record: CountryResponse | null): string | null {
  const code = record?.country?.iso_code ?? record?.registered_country?.iso_code;
  if (typeof code !== 'string' || !ISO_CODE.test(code)) return null;
  const upper = code.toUpperCase();
  return upper === UNKNOWN_COUNTRY ? null : upper;
}

/**
 * The bytes of the file at `file`, which must be a regular file. Opened without blocking and
 * checked before it is read: a named pipe would hold the start forever waiting for a writer,
 * and a device such as /dev/zero would be read until memory ran out.
 */
function readDbFile(file: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw new CountryDbError(`cannot read the file (${firstLine(error)})`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new CountryDbError('it is not a regular file');
    return fs.readFileSync(fd);
  } catch (error) {
    if (error instanceof CountryDbError) throw error;
    throw new CountryDbError(`cannot read the file (${firstLine(error)})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** A Reader over the file's bytes, once its metadata and tree are sound. */
function readerOf(bytes: Buffer): Reader<CountryResponse> {
  if (bytes.lastIndexOf(METADATA_MARKER) < 0) {
    throw new CountryDbError(
      'not a MaxMind DB file (.mmdb): no metadata marker; a CSV or a .gz archive must be ' +
        'converted or unpacked first',
    );
  }
  const cache = new Map<string | number, unknown>();
  let reader: Reader<CountryResponse>;
  try {
    reader = new Reader<CountryResponse>(bytes, {
      cache: {
        get: (key) => cache.get(key),
        set: (key, value) => {
          // Bounded: a city database has millions of records; a full cache starts over.
          if (cache.size >= geoLimits.recordCacheEntriesMax) cache.clear();
          cache.set(key, value);
        },
      },
    });
  } catch (error) {
    throw new CountryDbError(`not a MaxMind DB file: its metadata cannot be read (${error})`);
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2 || (m.ipVersion !== 4 && m.ipVersion !== 6)) {
    throw new CountryDbError(
      `not a MaxMind DB of format 2 (binary format ${m.binaryFormatMajorVersion}, ` +
        `IP version ${m.ipVersion})`,
    );
  }
  if (!(m.nodeCount > 0) || m.searchTreeSize + DATA_SECTION_SEPARATOR_BYTES > bytes.length) {
    throw new CountryDbError(
      `the file is cut short: its search tree of ${m.nodeCount} nodes does not fit in it`,
    );
  }
  return reader;
}

/**
 * Reads the first records in address order (skipping networks without data); throws unless one
 * carries `country.iso_code`.
 */
function checkRecords(reader: Reader<CountryResponse>): void {
  const bits = reader.metadata.ipVersion === 6 ? 128 : 32;
  const end = 1n << BigInt(bits);
  let address = 0n;
  let records = 0;
  try {
    for (let n = 0; n < geoLimits.checkLookupsMax && address < end; n++) {
      const [record, prefix] = reader.getWithPrefixLength(addressText(address, bits));
      if (record !== null) {
        if (typeof record.country?.iso_code === 'string') return;
        if (++records >= geoLimits.checkRecordsMax) break;
      }
      // On to the next network: past the one this address is in (its prefix bits kept).
      const rest = BigInt(bits - Math.min(prefix, bits));
      address = ((address >> rest) + 1n) << rest;
    }
  } catch (error) {
    throw new CountryDbError(`the file is damaged: a look-up failed (${firstLine(error)})`);
  }
  const type = String(reader.metadata.databaseType);
  throw new CountryDbError(
    records === 0
      ? `the database (${type}) holds no network with data`
      : `its records carry no country.iso_code (database type ${type}): a country or city ` +
          'database is needed, such as DB-IP IP to Country Lite or GeoLite2-Country',
  );
}

/** `address` written as the Reader parses it: dotted IPv4, or eight IPv6 groups. */
function addressText(address: bigint, bits: number): string {
  const parts: string[] = [];
  if (bits === 32) {
    for (let i = 3; i >= 0; i--) parts.push(String((address >> BigInt(i * 8)) & 255n));
    return parts.join('.');
  }
  for (let i = 7; i >= 0; i--) parts.push(((address >> BigInt(i * 16)) & 0xffffn).toString(16));
  return parts.join(':');
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
