// The copies of damaged log bytes a start keeps (`<file>.damaged-<offset>`), as the erasure
// and deletion tests make and read them: a restart over a flipped byte of the first record, the
// files of a data directory that still hold some text, and the records readable in a copy.

import { expect } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeFrame, framesFrom } from '../../src/storage/wal-frame.ts';
import type { TestApp } from './app.ts';

export const FIRST = '0000000001.wal';
export const COPY = `${FIRST}.damaged-0`;

/**
 * Restarts with one byte of the first record's payload flipped (its `{`): the start cuts the log
 * there and keeps the whole file in COPY, as the records after it are valid. Returns the bytes
 * of the damaged record as the copy holds them.
 */
export async function restartWithFirstRecordDamaged(app: TestApp): Promise<Buffer> {
  const file = path.join(app.dataDir, 'wal', FIRST);
  let damaged = Buffer.alloc(0);
  await app.restart(() => {
    const bytes = fs.readFileSync(file);
    const first = decodeFrame(bytes, 0);
    if (first.kind !== 'frame') throw new Error('no first record');
    bytes[16] = (bytes[16] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    damaged = Buffer.from(bytes.subarray(0, first.next));
  });
  expect(fs.existsSync(path.join(app.dataDir, 'wal', COPY))).toBe(true);
  return damaged;
}

/** The files under `dir` (a data directory) whose bytes hold `needle`, relative to it. */
export function filesHolding(dir: string, needle: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    const holds = entry.isFile() && fs.readFileSync(file).includes(needle);
    return holds ? [path.relative(dir, file)] : [];
  });
}

/** The event ids of each record readable in `file` (a damaged copy), in order. */
export function recordIds(file: string): string[][] {
  return [...framesFrom(fs.readFileSync(file), 0, 1)].map((frame) =>
    Buffer.from(frame.payload)
      .toString('utf8')
      .split('\n')
      .map((line) => (JSON.parse(line) as { event_id: string }).event_id),
  );
}
