import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventLimits } from '../../src/core/index.ts';
import { storageLimits } from '../../src/storage/limits.ts';
import {
  moveInto,
  publishSegments,
  segmentRelativePath,
  tenantDirName,
} from '../../src/storage/segment-files.ts';

const { tenantCharsMax } = eventLimits;
const bytes = (name: string) => Buffer.byteLength(name);

test('a tenant directory keeps the escaped id when it is short', () => {
  expect(tenantDirName('acme')).toBe('tenant=acme');
  expect(tenantDirName('org:acme.eu-1')).toBe('tenant=org%3Aacme.eu-1');
  expect(segmentRelativePath('acme', '2026-11-25', 'x')).toBe(
    'tenant=acme/day=2026-11-25/x.parquet',
  );
});

test("the directory's whole name is what must fit: an escaped id over 121 bytes is shortened", () => {
  // README "Segments": `tenant=` (7 bytes) and the id within tenantDirBytesMax (128).
  const room = storageLimits.tenantDirBytesMax - 'tenant='.length;
  expect(tenantDirName('a'.repeat(room))).toBe(`tenant=${'a'.repeat(room)}`);
  expect(room).toBe(121);
  const shortened = tenantDirName('a'.repeat(room + 1));
  expect(shortened).toMatch(/^tenant=a+\+[0-9a-f]{32}$/);
  expect(bytes(shortened)).toBeLessThanOrEqual(storageLimits.tenantDirBytesMax);
});

test('ids differing only in case get directories that differ whatever the case', () => {
  // A file system that ignores case (macOS, Windows) would hold both in one directory, and
  // the sweep at start would delete the segments of one of them as files the catalog lacks.
  expect(tenantDirName('Acme')).toBe('tenant=%41cme');
  expect(tenantDirName('org:ACME')).toBe('tenant=org%3A%41%43%4D%45');
  const long = (last: string) => `${'a'.repeat(tenantCharsMax - 1)}${last}`;
  const ids = ['acme', 'Acme', 'ACME', 'aCmE', 'a:b', 'A:B', 'a:B', long('a'), long('A')];
  const folded = ids.map((id) => tenantDirName(id).toLowerCase());
  expect(new Set(folded).size).toBe(ids.length);
});

test('the longest tenant ids, escaped the most, get names within the limit, all distinct', () => {
  // Valid ids escape to at most 3 bytes a character (`:` is `%3A`): 384 bytes of escaped id.
  const worst = [
    `a${':'.repeat(tenantCharsMax - 1)}`,
    `b${':'.repeat(tenantCharsMax - 1)}`,
    `a${':'.repeat(tenantCharsMax - 2)}a`,
    `a${':'.repeat(tenantCharsMax - 2)}`,
    'a'.repeat(tenantCharsMax),
    `${'a'.repeat(tenantCharsMax - 1)}b`,
    '€'.repeat(tenantCharsMax), // outside the tenant pattern; the name is still bounded
  ];
  const names = worst.map(tenantDirName);
  for (const name of names) {
    expect(bytes(name)).toBeLessThanOrEqual(storageLimits.tenantDirBytesMax);
    expect(name).toMatch(/^tenant=[A-Za-z0-9._~%-]*\+[0-9a-f]{32}$/);
  }
  expect(new Set(names).size).toBe(worst.length);
  expect(names[0]?.startsWith('tenant=a%3A%3A')).toBe(true); // still tells whose it is
});

test('a readable name and a shortened one never coincide', () => {
  // An id spelled like a shortened name is escaped (its `%` and `+`): it gets a name of its own.
  const long = `a${':'.repeat(tenantCharsMax - 1)}`;
  const lookalike = tenantDirName(long).slice('tenant='.length);
  expect(tenantDirName(lookalike)).not.toBe(tenantDirName(long));
});

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(parent = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(parent, 'tally-segfiles-'));
  made.push(dir);
  return dir;
}
const crossDevice = Object.assign(new Error('EXDEV: cross-device link not permitted'), {
  code: 'EXDEV',
});

test('a segment published across file systems is copied beside its place, then renamed', async () => {
  const dir = tempDir();
  const from = path.join(dir, 'staging.parquet');
  const to = path.join(dir, 'x.parquet');
  fs.writeFileSync(from, 'segment bytes');
  const renames: string[][] = [];
  // The first rename (staging → segments) fails as it does between two mounts.
  await moveInto(from, to, async (a, b) => {
    renames.push([path.basename(a), path.basename(b)]);
    if (a === from) throw crossDevice;
    await fs.promises.rename(a, b);
  });
  expect(fs.readFileSync(to, 'utf8')).toBe('segment bytes');
  expect(fs.existsSync(from)).toBe(false);
  // Renamed within the target's directory from a name the sweep at start removes (.parquet).
  expect(renames).toEqual([
    ['staging.parquet', 'x.parquet'],
    ['x.copying.parquet', 'x.parquet'],
  ]);
  expect(fs.readdirSync(dir)).toEqual(['x.parquet']);
});

test('a move across file systems that fails leaves the staging file and no copy', async () => {
  const dir = tempDir();
  const from = path.join(dir, 'staging.parquet');
  const to = path.join(dir, 'x.parquet');
  fs.writeFileSync(from, 'segment bytes');
  const failed = moveInto(from, to, async () => {
    throw crossDevice;
  });
  await expect(failed).rejects.toThrow('EXDEV');
  expect(fs.readdirSync(dir)).toEqual(['staging.parquet']);
  // Any other error is the caller's, as before.
  const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
  await expect(moveInto(from, to, () => Promise.reject(denied))).rejects.toThrow('EACCES');
});

const shm = '/dev/shm';
const apart =
  fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev ? test : test.skip;

apart('segments on another file system than staging are published (a real EXDEV)', async () => {
  const staging = tempDir(shm);
  const segments = tempDir();
  const moves = ['x.parquet', 'x.minutes.parquet'].map((name) => {
    const file = path.join(staging, name);
    fs.writeFileSync(file, name);
    return {
      staging: file,
      relative: segmentRelativePath('acme', '2026-11-25', name.slice(0, -8)),
    };
  });
  const sizes = await publishSegments(segments, moves);
  expect(sizes).toEqual([9, 17]);
  const day = path.join(segments, 'tenant=acme', 'day=2026-11-25');
  expect(fs.readdirSync(day).sort()).toEqual(['x.minutes.parquet', 'x.parquet']);
  expect(fs.readdirSync(staging)).toEqual([]);
});
