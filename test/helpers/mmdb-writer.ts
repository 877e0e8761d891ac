// A small writer of MaxMind DB files (https://maxmind.github.io/MaxMind-DB/, format 2.0), for
// tests that need a GeoIP database: a binary search tree of 24-bit records over the networks
// given, a 16-byte separator, the data section (each distinct record once), then the metadata
// marker and map. IPv4 networks of an IPv6 tree sit at ::/96, where readers look them up (as
// MaxMind's own databases keep them; the ::ffff:0:0/96 and 2002::/16 aliases are left out).
// Numbers are uint32 unless wrapped (U16, U64); no pointers, no cache container.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** A value of the given MaxMind DB integer type. */
export class U16 {
  constructor(readonly value: number) {}
}
export class U64 {
  constructor(readonly value: bigint) {}
}

export type MmdbValue =
  | string
  | number
  | boolean
  | U16
  | U64
  | MmdbValue[]
  | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** CIDR: `81.2.69.0/24`, `2a02:ffc0::/32`. */
  network: string;
  record: { [key: string]: MmdbValue };
}

export interface MmdbOptions {
  ipVersion?: 4 | 6;
  databaseType?: string;
  buildEpochSeconds?: number;
}

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
const SEPARATOR_BYTES = 16;
const RECORD_VALUE_MAX = 2 ** 24 - 1;

/** A GeoLite2-Country-like record: `country.iso_code` and an English name. */
export function countryRecord(isoCode: string, name: string): { [key: string]: MmdbValue } {
  return { country: { geoname_id: 1, iso_code: isoCode, names: { en: name } } };
}

/** A few networks of MaxMind's own test databases, with the countries they give them. */
export const TEST_NETWORKS: MmdbNetwork[] = [
  { network: '81.2.69.0/24', record: countryRecord('GB', 'United Kingdom') },
  { network: '89.160.20.0/24', record: countryRecord('SE', 'Sweden') },
  { network: '216.160.83.56/29', record: countryRecord('US', 'United States') },
  { network: '2a02:ffc0::/32', record: countryRecord('GI', 'Gibraltar') },
  { network: '2001:480::/32', record: countryRecord('US', 'United States') },
];

/** Writes a database of TEST_NETWORKS into `dir`; returns its path. */
export function writeTestCountryDb(dir: string): string {
  const file = path.join(dir, 'countries.mmdb');
  fs.writeFileSync(file, writeMmdb(TEST_NETWORKS));
  return file;
}

/** The bytes of a MaxMind DB holding `networks` (none may hold another). */
export function writeMmdb(networks: readonly MmdbNetwork[], options: MmdbOptions = {}): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const data = new DataSection();
  const root: TreeNode = { children: [null, null] };
  for (const { network, record } of networks) {
    insert(root, bitsOf(network, ipVersion), data.add(record));
  }
  const nodes = numberNodes(root);
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 6);
  nodes.forEach((node, i) => {
    node.children.forEach((child, side) => {
      const value =
        child === null
          ? nodeCount
          : typeof child === 'number'
            ? nodeCount + SEPARATOR_BYTES + child
            : (child.index as number);
      if (value > RECORD_VALUE_MAX) throw new Error('too large for 24-bit records');
      tree.writeUIntBE(value, i * 6 + side * 3, 3);
    });
  });
  const metadata = encode({
    node_count: nodeCount,
    record_size: new U16(24),
    ip_version: new U16(ipVersion),
    database_type: options.databaseType ?? 'Tally-Test-Country',
    languages: ['en'],
    binary_format_major_version: new U16(2),
    binary_format_minor_version: new U16(0),
    build_epoch: new U64(BigInt(options.buildEpochSeconds ?? 1_767_225_600)),
    description: { en: 'A test database written by test/helpers/mmdb-writer.ts' },
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(SEPARATOR_BYTES),
    data.bytes(),
    METADATA_MARKER,
    metadata,
  ]);
}

interface TreeNode {
  /** Left (bit 0) and right (bit 1): a node, a data offset, or nothing. */
  children: [TreeNode | number | null, TreeNode | number | null];
  index?: number;
}

function insert(root: TreeNode, bits: number[], dataOffset: number): void {
  let node = root;
  bits.forEach((bit, depth) => {
    const child = node.children[bit as 0 | 1];
    if (depth === bits.length - 1) {
      if (child !== null) throw new Error('networks must not overlap');
      node.children[bit as 0 | 1] = dataOffset;
      return;
    }
    if (typeof child === 'number') throw new Error('networks must not overlap');
    const next = child ?? { children: [null, null] };
    node.children[bit as 0 | 1] = next;
    node = next;
  });
}

/** The tree's nodes, root first (node 0), each given its number. */
function numberNodes(root: TreeNode): TreeNode[] {
  const nodes: TreeNode[] = [];
  const queue = [root];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    node.index = nodes.length;
    nodes.push(node);
    for (const child of node.children) {
      if (child !== null && typeof child !== 'number') queue.push(child);
    }
  }
  return nodes;
}

/** The prefix bits of a CIDR network, in a tree of `ipVersion` (IPv4 under ::/96 in IPv6). */
function bitsOf(cidr: string, ipVersion: 4 | 6): number[] {
  const [address, length] = cidr.split('/') as [string, string];
  const prefix = Number(length);
  if (address.includes(':')) {
    if (ipVersion === 4) throw new Error(`${cidr} in an IPv4 database`);
    return bitsOfBytes(ipv6Bytes(address)).slice(0, prefix);
  }
  const bits = bitsOfBytes(address.split('.').map(Number)).slice(0, prefix);
  return ipVersion === 4 ? bits : [...Array<number>(96).fill(0), ...bits];
}

function ipv6Bytes(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const middle = Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...(tail === undefined ? [] : middle), ...right].flatMap((group) => {
    const n = Number.parseInt(group, 16);
    return [n >> 8, n & 255];
  });
}

function bitsOfBytes(bytes: number[]): number[] {
  return bytes.flatMap((byte) => Array.from({ length: 8 }, (_, i) => (byte >> (7 - i)) & 1));
}

/** The data section: each distinct record encoded once, by its offset. */
class DataSection {
  private readonly parts: Buffer[] = [];
  private readonly offsets = new Map<string, number>();
  private size = 0;

  add(record: { [key: string]: MmdbValue }): number {
    const key = JSON.stringify(record, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    const known = this.offsets.get(key);
    if (known !== undefined) return known;
    const bytes = encode(record);
    const offset = this.size;
    this.parts.push(bytes);
    this.size += bytes.length;
    this.offsets.set(key, offset);
    return offset;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Type numbers of the format's data fields. */
const TYPE = { string: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11 };
const BOOLEAN_TYPE = 14;

function encode(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(TYPE.string, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return control(BOOLEAN_TYPE, value ? 1 : 0);
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) {
      return unsigned(TYPE.uint32, BigInt(value));
    }
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    return Buffer.concat([control(TYPE.double, 8), bytes]);
  }
  if (value instanceof U16) return unsigned(TYPE.uint16, BigInt(value.value));
  if (value instanceof U64) return unsigned(TYPE.uint64, value.value);
  if (Array.isArray(value)) {
    return Buffer.concat([control(TYPE.array, value.length), ...value.map(encode)]);
  }
  const entries = Object.entries(value);
  return Buffer.concat([
    control(TYPE.map, entries.length),
    ...entries.flatMap(([k, v]) => [encode(k), encode(v)]),
  ]);
}

/** An unsigned integer in as few big-endian bytes as it needs (0 bytes for 0). */
function unsigned(type: number, value: bigint): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 255n));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

/** The control byte(s) of a field: type (extended past 7), then the size and its extension. */
function control(type: number, size: number): Buffer {
  const head = type > 7 ? [0] : [type << 5];
  if (type > 7) head.push(type - 7);
  let sizeBits: number;
  let extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) [sizeBits, extra] = [29, [size - 29]];
  else if (size < 285 + 65_536) [sizeBits, extra] = [30, [(size - 285) >> 8, (size - 285) & 255]];
  else {
    const n = size - 65_821;
    [sizeBits, extra] = [31, [(n >> 16) & 255, (n >> 8) & 255, n & 255]];
  }
  head[0] = (head[0] as number) | sizeBits;
  return Buffer.from([...head, ...extra]);
}
