// The dedup index's snapshot at a given size (`bun bench/dedup-snapshot.bench.ts --keys=N`,
// default 20M, the default DEDUP_KEYS_MAX): how long adding N generated ids takes the way a
// rebuild adds those it reads back (the index's own work, without reading the segments), then
// the snapshot's size and the time to write it (with its fsync) and to read it back (from the
// page cache, just written). It drives src/engine's own code; the ids are shaped like the
// ingest path's, spread in order over the last DEDUP_WINDOW (7 days) of receive times.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readDedupSnapshot, saveDedupSnapshot } from '../src/engine/dedup-snapshot.ts';
import { DedupIndex } from '../src/engine/index.ts';
import type { StoreMark } from '../src/storage/index.ts';
import { describeMachine } from './support/machine.ts';

const DAY_MS = 86_400_000;
const WINDOW_MS = 7 * DAY_MS;
const TENANTS = 100;

const { values } = parseArgs({ options: { keys: { type: 'string', default: '20000000' } } });
const keys = Number(values.keys);
if (!Number.isInteger(keys) || keys < 5000) throw new Error(`--keys=${values.keys}: >= 5000`);

const options = { windowMs: WINDOW_MS, keysMax: keys };
const now = Date.now();
const index = new DedupIndex(options);
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
let started = performance.now();
for (let i = 0; i < keys; i++) {
  const receivedAt = now - WINDOW_MS + Math.floor((i / keys) * WINDOW_MS);
  const id = `evt-${hex(i, 16)}-${hex((i * 2654435761) >>> 0, 12)}`;
  // What dedup-recovery.ts's remember() does for each id read back.
  if (index.isExpired(receivedAt, now)) continue;
  if (index.wouldOverflow(1)) index.makeRoom(1, now);
  index.addNewest(index.keyOf(`tenant_${i % TENANTS}`, id), receivedAt);
}
const buildMs = performance.now() - started;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-dedup-snapshot-'));
try {
  const mark: StoreMark = {
    lastSeq: keys,
    logFilesDigest: '',
    flushedThroughSeq: keys,
    segments: 0,
    segmentsMaxId: 0,
    segmentsDigest: '',
    tombstonesDigest: '',
  };
  started = performance.now();
  const bytes = await saveDedupSnapshot(dir, index, mark, now);
  const writeMs = performance.now() - started;
  started = performance.now();
  const read = readDedupSnapshot(dir, options, () => null);
  const readMs = performance.now() - started;
  if (read.kind !== 'read' || read.index.size !== index.size) {
    throw new Error(`snapshot not read back whole: ${JSON.stringify(read.kind)}`);
  }
  const m = describeMachine('-');
  console.log(`${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}`);
  console.log(`keys ${index.size.toLocaleString('en-US')} (asked ${keys.toLocaleString('en-US')})`);
  console.log(`add as a rebuild does   ${(buildMs / 1000).toFixed(1)} s`);
  console.log(`snapshot bytes          ${bytes.toLocaleString('en-US')}`);
  console.log(`write (with fsync)      ${(writeMs / 1000).toFixed(2)} s`);
  console.log(`read (page cache)       ${(readMs / 1000).toFixed(2)} s`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
