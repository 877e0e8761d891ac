import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirsDurably } from '../../src/storage/segment-files.ts';
import * as wal from '../../src/storage/wal.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

test('every directory a publish creates is fsynced in its parent, once', () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const fsynced = spyOn(wal, 'fsyncPath');
  try {
    const day = path.join(temp.dir, 'segments', 'tenant=acme', 'day=2026-11-25');
    makeDirsDurably(day);
    expect(fs.statSync(day).isDirectory()).toBe(true);
    // segments/ in the data dir, tenant=acme/ in segments/, day=…/ in tenant=acme/.
    expect(fsynced.mock.calls.map(([dir]) => path.relative(temp.dir, dir))).toEqual([
      'segments/tenant=acme',
      'segments',
      '',
    ]);
    fsynced.mockClear();
    makeDirsDurably(day); // nothing new: nothing to make durable
    makeDirsDurably(path.join(temp.dir, 'segments', 'tenant=acme', 'day=2026-11-26'));
    expect(fsynced.mock.calls.map(([dir]) => path.relative(temp.dir, dir))).toEqual([
      'segments/tenant=acme',
    ]);
  } finally {
    fsynced.mockRestore();
  }
});
