import { afterEach, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { GroupCommitter, WriteAheadLog } from '../../src/storage/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup(queueEventsMax = 1000, queueBytesMax = 1 << 20) {
  const t = makeTempDir();
  cleanup = t.remove;
  const wal = WriteAheadLog.open(
    { dir: path.join(t.dir, 'wal'), fileBytesMax: 64 << 20, durability: 'fsync' },
    () => {},
  );
  const fatal: unknown[] = [];
  const committer = new GroupCommitter(wal, {
    queueEventsMax,
    queueBytesMax,
    onFatal: (e) => fatal.push(e),
  });
  return { wal, committer, fatal, dir: path.join(t.dir, 'wal') };
}

describe('GroupCommitter', () => {
  test('64 concurrent submits share a few commits and get consecutive sequences', async () => {
    const { committer, wal } = setup();
    const outcomes = Array.from({ length: 64 }, (_, i) =>
      committer.submit(Buffer.from(`e${i}`), 1),
    );
    const seqs = await Promise.all(
      outcomes.map((o) => (o.kind === 'queued' ? o.committed : Promise.reject(new Error('full')))),
    );
    expect(seqs).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(committer.commits).toBeLessThanOrEqual(2);
    wal.close();
  });

  test('says full past its bound instead of queueing without end', async () => {
    const { committer, wal } = setup(10);
    const first = committer.submit(Buffer.from('a'), 8);
    expect(first.kind).toBe('queued');
    expect(committer.submit(Buffer.from('b'), 8).kind).toBe('full');
    if (first.kind === 'queued') await first.committed;
    expect(committer.submit(Buffer.from('c'), 8).kind).toBe('queued');
    await committer.drain();
    wal.close();
  });

  test('a barrier resolves only after work queued before it is durable', async () => {
    const { committer, wal, dir } = setup();
    const order: string[] = [];
    const o = committer.submit(Buffer.from('x'), 1);
    if (o.kind === 'queued') void o.committed.then(() => order.push('commit'));
    await committer.barrier().then(() => order.push('barrier'));
    expect(order).toEqual(['commit', 'barrier']);
    wal.close();
    const replayed: string[] = [];
    WriteAheadLog.open({ dir, fileBytesMax: 64 << 20, durability: 'fsync' }, (r) =>
      replayed.push(Buffer.from(r.payload).toString()),
    ).close();
    expect(replayed).toEqual(['x']);
  });

  test('a failed write rejects every waiter and reports the failure', async () => {
    const { committer, wal, fatal } = setup();
    wal.close(); // every append now fails
    const o = committer.submit(Buffer.from('x'), 1);
    expect(o.kind).toBe('queued');
    if (o.kind === 'queued') await expect(o.committed).rejects.toThrow();
    expect(fatal).toHaveLength(1);
    expect(committer.healthy).toBe(false);
    expect(committer.submit(Buffer.from('y'), 1).kind).toBe('full');
  });
});
