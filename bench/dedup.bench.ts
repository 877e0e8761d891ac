// The dedup index micro-benchmark (`bun bench/dedup.bench.ts`): the hashed tables of
// src/engine/dedup-index.ts against the Set-of-strings index they replaced (kept below as the
// baseline), at 1M and 10M keys (`--sizes=N,N…` for others), with one generation (window 0)
// and with nine (keys spread over 9/8 of a window). Columns, in CPU ns per call:
//   build     has() then add(), as the caller does today, averaged over filling the index
//   has hit   has() of a stored key (a new string equal to it), over all generations
//   has miss  has() of a key never added
//   has+add   has() then add() of a new key into the full index
//   hasOrAdd  hasOrAdd() of a new key into the full index (hashes once)
//   B/key     growth of the resident set per stored key, after a full GC
// Each case runs in a fresh child process so that one case's heap never counts in another's.
// Keys are shaped like eventKey(tenant, event_id): `tenant_N\0evt-<16 hex>-<12 hex>`, made
// fresh for every call as the ingest path makes them, and not timed.

import { parseArgs } from 'node:util';
import { DedupIndex } from '../src/engine/index.ts';
import { describeMachine } from './support/machine.ts';
import { formatFixed, renderTable } from './support/table.ts';

const DAY_MS = 86_400_000;
const WINDOW_MS = 8 * DAY_MS;
const CHUNK_KEYS = 16_384;
const PROBES = 1_000_000;
/** New keys per way into the full index: 6 chunks, less than any table's room to spare. */
const NEW_KEYS = 6 * CHUNK_KEYS;
const SIZES_DEFAULT = '1000000,10000000';
/** The Set baseline takes ~200 B a key (bench/README.md): 100M is the results' 23.5 GiB. */
const SIZE_MAX = 100_000_000;

type Impl = 'set' | 'hashed';
type Mode = 'forever' | 'window';

interface Index {
  has(key: string): boolean;
  add(key: string, receivedAt: number): void;
  hasOrAdd?(key: string, receivedAt: number): boolean;
}

interface CaseResult {
  buildNs: number;
  hitNs: number;
  missNs: number;
  newNs: number;
  hasOrAddNs: number;
  bytesPerKey: number;
}

/** The index before the hashed tables: one Set of key strings per generation. */
class SetDedupIndex implements Index {
  private readonly generations = new Map<number, Set<string>>();
  constructor(private readonly spanMs: number) {}

  has(key: string): boolean {
    for (const keys of this.generations.values()) if (keys.has(key)) return true;
    return false;
  }

  add(key: string, receivedAt: number): void {
    const gen = Number.isFinite(this.spanMs) ? Math.floor(receivedAt / this.spanMs) : 0;
    let keys = this.generations.get(gen);
    if (keys === undefined) {
      keys = new Set();
      this.generations.set(gen, keys);
    }
    keys.add(key);
  }
}

const TENANTS = Array.from({ length: 50 }, (_, i) => `tenant_${i}`);

function hex(x: number, width: number): string {
  return (x >>> 0).toString(16).padStart(width, '0');
}

/** The i-th key of family `salt`, a new string each call (like eventKey on a fresh event). */
function key(i: number, salt: number): string {
  const a = Math.imul(i ^ salt, 0x9e3779b1);
  const b = Math.imul(a ^ (a >>> 15), 0x85ebca6b);
  const id = `evt-${hex(a, 8)}${hex(b, 8)}-${hex(salt, 4)}${hex(i, 8)}`;
  return `${TENANTS[i % TENANTS.length]}\u0000${id}`;
}

function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/**
 * Runs `op` on `count` fresh keys from `keyOf`; returns the CPU ns per call spent in `op` alone.
 * CPU time, not wall time: the machine is shared, and a descheduled process is not a slower
 * index. It includes the collector's threads, a real cost of keeping strings.
 */
function timed(count: number, keyOf: (j: number) => string, op: (k: string, j: number) => void) {
  const keys: string[] = new Array(CHUNK_KEYS);
  let ns = 0;
  for (let start = 0; start < count; start += CHUNK_KEYS) {
    const end = Math.min(start + CHUNK_KEYS, count);
    for (let j = start; j < end; j++) keys[j - start] = keyOf(j);
    const t0 = cpuNs();
    for (let j = start; j < end; j++) op(keys[j - start] as string, j);
    ns += cpuNs() - t0;
  }
  return ns / count;
}

function residentBytes(): number {
  Bun.gc(true);
  return process.memoryUsage().rss;
}

function runCase(impl: Impl, n: number, mode: Mode): CaseResult {
  const windowMs = mode === 'forever' ? 0 : WINDOW_MS;
  // Key i of n arrives at i/n of 9/8 of the window: nine generations, all still live.
  const at = (i: number, of: number) =>
    mode === 'forever' ? 0 : Math.floor((i / of) * 9 * DAY_MS);
  const before = residentBytes();
  const index: Index =
    impl === 'set'
      ? new SetDedupIndex(windowMs === 0 ? Number.POSITIVE_INFINITY : windowMs / 8)
      : new DedupIndex({ windowMs, keysMax: 2 * n });
  const buildNs = timed(
    n,
    (i) => key(i, 1),
    (k, i) => {
      if (!index.has(k)) index.add(k, at(i, n));
    },
  );
  const bytesPerKey = (residentBytes() - before) / n;
  let found = 0;
  const count = (k: string) => {
    if (index.has(k)) found++;
  };
  // Hits are new strings equal to stored keys, spread over all of them (and all generations).
  const hitNs = timed(PROBES, (j) => key(Math.floor((j * n) / PROBES), 1), count);
  const missNs = timed(PROBES, (j) => key(j, 2), count);
  if (found !== PROBES) throw new Error(`found ${found} of ${PROBES} probes`);
  // New keys into the full index, few enough that no table doubles meanwhile; the two ways
  // take turns by chunk, so that drift in the machine's load falls on both alike.
  let newNs = 0;
  let hasOrAddNs = impl === 'set' ? Number.NaN : 0;
  for (let c = 0; c < NEW_KEYS; c += CHUNK_KEYS) {
    newNs += timed(
      CHUNK_KEYS,
      (j) => key(c + j, 3),
      (k, j) => {
        if (!index.has(k)) index.add(k, at(c + j, NEW_KEYS));
      },
    );
    hasOrAddNs += timed(
      CHUNK_KEYS,
      (j) => key(c + j, 4),
      (k, j) => {
        index.hasOrAdd?.(k, at(c + j, NEW_KEYS));
      },
    );
  }
  const rounds = NEW_KEYS / CHUNK_KEYS;
  return {
    buildNs,
    hitNs,
    missNs,
    newNs: newNs / rounds,
    hasOrAddNs: hasOrAddNs / rounds,
    bytesPerKey,
  };
}

function runChild(impl: Impl, n: number, mode: Mode): CaseResult {
  const child = Bun.spawnSync([process.execPath, import.meta.path, 'case', impl, String(n), mode], {
    stdout: 'pipe',
    stderr: 'inherit',
  });
  if (child.exitCode !== 0) throw new Error(`case ${impl} ${n} ${mode} failed`);
  return JSON.parse(child.stdout.toString()) as CaseResult;
}

function main(): void {
  const [role, impl, n, mode] = process.argv.slice(2);
  if (role === 'case') {
    const result = runCase(impl as Impl, Number(n), mode as Mode);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: SIZES_DEFAULT } } });
  const sizes = values.sizes.split(',').map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= SIZE_MAX)) {
    throw new Error(`--sizes=${values.sizes}: give keys per case, 1 to ${SIZE_MAX}, by commas`);
  }
  const machine = describeMachine('-');
  console.log(`${machine.cpuModel}, ${machine.cores} cores, bun ${machine.bun}`);
  const rows: string[][] = [];
  for (const size of sizes)
    for (const m of ['forever', 'window'] as const)
      for (const which of ['set', 'hashed'] as const) {
        const r = runChild(which, size, m);
        rows.push([
          `${which} ${size / 1e6}M ${m === 'forever' ? '1 gen' : '9 gens'}`,
          formatFixed(r.buildNs, 0),
          formatFixed(r.hitNs, 0),
          formatFixed(r.missNs, 0),
          formatFixed(r.newNs, 0),
          formatFixed(r.hasOrAddNs, 0),
          formatFixed(r.bytesPerKey, 1),
        ]);
        console.log(rows.at(-1)?.join('  '));
      }
  const header = ['case', 'build', 'has hit', 'has miss', 'has+add', 'hasOrAdd', 'B/key'];
  console.log(`\n${renderTable(header, rows)}`);
}

main();
