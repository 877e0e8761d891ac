import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { remainderOf, writeFully } from '../../src/storage/file-io.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const text = (parts: readonly Uint8Array[]) =>
  parts.map((p) => Buffer.from(p).toString()).join('|');

describe('writeFully', () => {
  test('writes every part in order at the end of the file', async () => {
    const t = makeTempDir();
    cleanup = t.remove;
    const file = path.join(t.dir, 'f');
    fs.writeFileSync(file, 'head:');
    const fd = fs.openSync(file, 'a');
    const big = Buffer.alloc(3 * 1024 * 1024, 120);
    await writeFully(fd, [Buffer.from('a'), big, Buffer.from('z')]);
    fs.closeSync(fd);
    const written = fs.readFileSync(file);
    expect(written.length).toBe(5 + 1 + big.length + 1);
    expect(written.subarray(0, 6).toString()).toBe('head:a');
    expect(written.at(-1)).toBe('z'.charCodeAt(0));
  });

  test('after a short write, goes on from the first unwritten byte', () => {
    const parts = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
    expect(text(remainderOf(parts, 0))).toBe('abc|defg|h');
    expect(text(remainderOf(parts, 2))).toBe('c|defg|h');
    expect(text(remainderOf(parts, 3))).toBe('defg|h');
    expect(text(remainderOf(parts, 5))).toBe('fg|h');
    expect(remainderOf(parts, 8)).toEqual([]);
  });
});
