import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as durable from '../../src/storage/durable-fs.ts';
import { makeDirsDurably } from '../../src/storage/durable-fs.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
let t: TestApp | undefined;
afterEach(async () => {
  cleanup?.();
  cleanup = undefined;
  await t?.close();
  t = undefined;
});

test('every directory a publish creates is fsynced in its parent, once', () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const fsynced = spyOn(durable, 'fsyncPath');
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

test('opening a fresh data directory makes each of its new entries durable in it', async () => {
  // What each directory held when it was fsynced: an entry is durable once its directory was
  // fsynced after it was created.
  const listings = new Map<string, string[]>();
  const real = durable.fsyncPath;
  const fsynced = spyOn(durable, 'fsyncPath').mockImplementation((target) => {
    real(target);
    if (fs.statSync(target).isDirectory()) listings.set(target, fs.readdirSync(target));
  });
  try {
    t = await makeTestApp();
  } finally {
    fsynced.mockRestore();
  }
  expect(listings.get(t.dataDir)).toEqual(
    expect.arrayContaining(['segments', 'staging', 'tally.sqlite', 'wal']),
  );
});
