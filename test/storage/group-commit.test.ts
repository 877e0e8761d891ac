import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMITS_IN_FLIGHT_MAX, GroupCommitter, WriteAheadLog } from '../../src/storage/index.ts';
import { LogIoThreads, logIo } from '../../src/storage/log-io.ts';
import { holdFdatasyncs } from '../helpers/held-fdatasyncs.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup(queueEventsMax = 1000, queueBytesMax = 1 << 20, fileBytesMax = 64 << 20) {
  const t = makeTempDir();
  cleanup = t.remove;
  const wal = WriteAheadLog.open(
    { dir: path.join(t.dir, 'wal'), fileBytesMax, durability: 'fsync' },
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
      admitted(committer, Buffer.from(`e${i}`), 1),
    );
    const seqs = await Promise.all(
      outcomes.map((o) => (o.kind === 'queued' ? o.committed : Promise.reject(new Error('full')))),
    );
    expect(seqs).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(committer.commits).toBeLessThanOrEqual(2);
    wal.close();
  });

  test('overlaps the syncs of later groups but acknowledges in log order', async () => {
    const { committer, wal } = setup();
    // Hold every sync until the test lets it go, to see what is in flight at once.
    const held: (() => void)[] = [];
    const realSync = wal.sync.bind(wal);
    wal.sync = () => realSync().then(() => new Promise<void>((r) => held.push(r)));
    const order: string[] = [];
    const submitNext = (name: string) => {
      const o = admitted(committer, Buffer.from(name), 1);
      if (o.kind !== 'queued') throw new Error('full');
      return o.committed.then((seq) => order.push(`${name}:${seq}`));
    };
    const a = submitNext('a');
    await until(() => held.length === 1);
    const b = submitNext('b'); // a later turn of the event loop: a second group
    await until(() => held.length === 2);
    (held[1] as () => void)(); // b is durable first…
    await Bun.sleep(5);
    expect(order).toEqual([]); // …but waits for a
    (held[0] as () => void)();
    await Promise.all([a, b]);
    expect(order).toEqual(['a:1', 'b:2']);
    expect(committer.commits).toBe(2);
    wal.close();
  });

  test(`keeps at most ${COMMITS_IN_FLIGHT_MAX} groups in flight`, async () => {
    const { committer, wal } = setup();
    const held: (() => void)[] = [];
    const realSync = wal.sync.bind(wal);
    wal.sync = () => realSync().then(() => new Promise<void>((r) => held.push(r)));
    const all: Promise<number>[] = [];
    for (let i = 0; i < COMMITS_IN_FLIGHT_MAX + 2; i++) {
      const o = admitted(committer, Buffer.from(`g${i}`), 1);
      if (o.kind === 'queued') all.push(o.committed);
      await new Promise((resolve) => setImmediate(resolve)); // each in a turn of its own
    }
    await until(() => held.length === COMMITS_IN_FLIGHT_MAX);
    await Bun.sleep(20);
    expect(held).toHaveLength(COMMITS_IN_FLIGHT_MAX); // the rest wait for a free slot
    await releaseUntilSettled(held, all);
    expect(await Promise.all(all)).toEqual(all.map((_, i) => i + 1));
    wal.close();
  });

  test('a commit scheduled for the next turn respects slots filled meanwhile', async () => {
    const { committer, wal } = setup();
    const held: (() => void)[] = [];
    const realSync = wal.sync.bind(wal);
    wal.sync = () => realSync().then(() => new Promise<void>((r) => held.push(r)));
    const all: Promise<number>[] = [];
    const submit = (name: string) => {
      const o = admitted(committer, Buffer.from(name), 1);
      if (o.kind === 'queued') all.push(o.committed);
    };
    submit('scheduled'); // schedules a commit for the next turn
    for (let i = 0; i < COMMITS_IN_FLIGHT_MAX; i++) {
      committer.commitQueued(); // the ticker's path: starts one now
      submit(`now${i}`);
    }
    await until(() => held.length === COMMITS_IN_FLIGHT_MAX);
    await Bun.sleep(20); // the scheduled turn has come and gone
    expect(held).toHaveLength(COMMITS_IN_FLIGHT_MAX);
    await releaseUntilSettled(held, all);
    expect(await Promise.all(all)).toEqual(all.map((_, i) => i + 1));
    wal.close();
  });

  test('rotates files between overlapping groups without losing or reordering one', async () => {
    const { committer, wal, dir } = setup(1000, 1 << 20, 4096);
    const all: Promise<number>[] = [];
    for (let i = 0; i < 40; i++) {
      const o = admitted(committer, Buffer.alloc(1500, 97 + (i % 26)), 1);
      if (o.kind === 'queued') all.push(o.committed);
      if (i % 3 === 0) await Bun.sleep(0);
    }
    expect(await Promise.all(all)).toEqual(all.map((_, i) => i + 1));
    await committer.drain();
    expect(wal.fileCount).toBeGreaterThan(2);
    wal.close();
    const seqs: number[] = [];
    WriteAheadLog.open({ dir, fileBytesMax: 4096, durability: 'fsync' }, (r) =>
      seqs.push(r.seq),
    ).close();
    expect(seqs).toEqual(all.map((_, i) => i + 1));
  });

  test('with DURABILITY=os a full file is synced before the next one starts', async () => {
    // Only the newest file may end torn after a power loss (replay cuts it there); an older
    // one that does refuses the start. Without syncs per group, a full file is synced once.
    const t = makeTempDir();
    cleanup = t.remove;
    const dir = path.join(t.dir, 'wal');
    const wal = WriteAheadLog.open({ dir, fileBytesMax: 4096, durability: 'os' }, () => {});
    const committer = new GroupCommitter(wal, {
      queueEventsMax: 1000,
      queueBytesMax: 1 << 20,
      onFatal: () => {},
    });
    const synced: string[] = [];
    const spy = spyOn(logIo, 'fdatasync').mockImplementation(async (fd: number) => {
      synced.push(path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`)));
    });
    try {
      for (let i = 0; i < 7; i++) {
        const o = admitted(committer, Buffer.alloc(1500, 97), 1);
        if (o.kind === 'queued') await o.committed;
      }
      expect(wal.fileCount).toBe(3);
      expect(synced).toEqual(['0000000001.wal', '0000000002.wal']);
    } finally {
      spy.mockRestore();
      wal.close();
    }
  });

  test('commitQueued starts the commit now, not in a later turn of the event loop', async () => {
    const { committer, wal } = setup();
    let laterTurnRan = false;
    setImmediate(() => {
      laterTurnRan = true;
    });
    const sawLaterTurn: boolean[] = [];
    const append = wal.append.bind(wal);
    wal.append = (payloads) => {
      sawLaterTurn.push(laterTurnRan);
      return append(payloads);
    };
    const o = admitted(committer, Buffer.from('now'), 1);
    committer.commitQueued();
    expect(o.kind).toBe('queued');
    if (o.kind === 'queued') expect(await o.committed).toBe(1);
    expect(sawLaterTurn).toEqual([false]);
    wal.close();
  });

  test('admits work up to its bound, then says no instead of queueing without end', async () => {
    const { committer, wal } = setup(10);
    expect(committer.admit(12, 100)).toBe(true); // an idle queue takes any one request
    expect(committer.admit(1, 1)).toBe(false);
    const first = committer.submit(Buffer.from('a'), 8, { events: 12, bytes: 100 });
    expect(first.kind).toBe('queued');
    expect(committer.admit(3, 1)).toBe(false); // 8 queued + 3 > 10
    expect(committer.admit(2, 1)).toBe(true);
    committer.release({ events: 2, bytes: 1 }); // e.g. every event was a duplicate
    if (first.kind === 'queued') await first.committed;
    expect(committer.admit(8, 1)).toBe(true);
    const second = committer.submit(Buffer.from('c'), 8, { events: 8, bytes: 1 });
    expect(second.kind).toBe('queued');
    await committer.drain();
    wal.close();
  });

  test('a barrier resolves only after work queued before it is durable', async () => {
    const { committer, wal, dir } = setup();
    const order: string[] = [];
    const o = admitted(committer, Buffer.from('x'), 1);
    expect(o.kind).toBe('queued');
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

  test('a group is not acknowledged while a sync that overlapped it may still fail', async () => {
    // Linux reports a writeback error once per open file: of two fdatasyncs in flight on the
    // log's one descriptor, the later one may get the EIO of the earlier group's pages, and
    // the earlier one 0. Its success alone does not make its group durable.
    await withOverlappingGroups(async ({ syncs, settledAs, a, b }) => {
      syncs.release(0, null); // a's fdatasync says 0…
      await Bun.sleep(5);
      expect(settledAs).toEqual([]); // …but b's, on the same file, may report a's error
      syncs.release(1, writebackError());
      await Promise.all([a, b]);
      expect(settledAs.sort()).toEqual(['a:refused', 'b:refused']);
    });
  });

  test('a group whose sync returns 0 after an overlapping one failed is not acknowledged', async () => {
    // The other order of the test above: the later group's fdatasync reports the EIO (of the
    // earlier group's pages, maybe) and ends first; the earlier one's 0 that comes after it
    // says nothing of its pages either.
    await withOverlappingGroups(async ({ syncs, settledAs, a, b }) => {
      syncs.release(1, writebackError());
      await b;
      expect(settledAs).toEqual(['b:refused']);
      syncs.release(0, null);
      await a;
      expect(settledAs).toEqual(['b:refused', 'a:refused']);
    });
  });

  test('a failed write rejects every waiter and reports the failure', async () => {
    const { committer, wal, fatal } = setup();
    wal.close(); // every append now fails
    const o = admitted(committer, Buffer.from('x'), 1);
    expect(o.kind).toBe('queued');
    if (o.kind === 'queued') await expect(o.committed).rejects.toThrow();
    expect(fatal).toHaveLength(1);
    expect(committer.healthy).toBe(false);
    expect(committer.admit(1, 1)).toBe(false);
    expect(committer.submit(Buffer.from('y'), 1, { events: 0, bytes: 0 }).kind).toBe('refused');
  });

  test.each(['fdatasync', 'writev'] as const)(
    "a group whose %s's I/O thread dies is refused, and the store stops",
    async (syscall) => {
      const { committer, wal, fatal } = setup();
      // The log's calls go to threads of the test's own, the one there dying of its next call
      // (an op it does not know), so the log's threads stay for the other tests.
      const threads = new LogIoThreads(1);
      await threads.start();
      const crash = () => threads.workers[0]?.postMessage({ op: 'crash' });
      const crashing =
        syscall === 'fdatasync'
          ? spyOn(logIo, 'fdatasync').mockImplementation((fd) => {
              crash();
              return threads.fdatasync(fd);
            })
          : spyOn(logIo, 'writev').mockImplementation((fd, parts) => {
              crash();
              return threads.writev(fd, parts);
            });
      try {
        // Past the inline write's size, so the write too goes to a thread.
        const o = admitted(committer, Buffer.alloc(128 * 1024, 97), 1);
        if (o.kind !== 'queued') throw new Error('refused');
        // It waited for ever before: no answer comes from a dead thread.
        const error = await o.committed.catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_LOG_IO_THREAD_LOST' });
        expect(fatal).toEqual([error]);
        expect(committer.healthy).toBe(false);
      } finally {
        crashing.mockRestore();
        wal.close();
      }
    },
  );
});

const writebackError = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

/**
 * Runs `check` with two one-record groups committing, `a` then `b` in a later turn, their
 * fdatasyncs held (`syncs.held[0]` is a's, `[1]` b's; the test releases them), and how each
 * settled in `settledAs` (`a:acked`, `b:refused`), in order; then one fatal failure reported.
 */
async function withOverlappingGroups(
  check: (groups: {
    syncs: ReturnType<typeof holdFdatasyncs>;
    settledAs: string[];
    a: Promise<number>;
    b: Promise<number>;
  }) => Promise<void>,
): Promise<void> {
  const { committer, wal, fatal } = setup();
  const syncs = holdFdatasyncs();
  try {
    const settledAs: string[] = [];
    const submitNext = (name: string) => {
      const o = admitted(committer, Buffer.from(name), 1);
      if (o.kind !== 'queued') throw new Error('full');
      return o.committed.then(
        () => settledAs.push(`${name}:acked`),
        () => settledAs.push(`${name}:refused`),
      );
    };
    const a = submitNext('a');
    await until(() => syncs.held.length === 1);
    const b = submitNext('b'); // a later turn: a second group, its sync overlapping a's
    await until(() => syncs.held.length === 2);
    await check({ syncs, settledAs, a, b });
    expect(fatal).toHaveLength(1);
  } finally {
    syncs.restore();
    wal.close();
  }
}

/** Waits for `condition` (real fsyncs: up to 10 s on a busy machine). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition() && performance.now() < deadline) await Bun.sleep(2);
  expect(condition()).toBe(true);
}

/** Submits `payload` as a request would: room admitted first, then given back on submit. */
function admitted(committer: GroupCommitter, payload: Uint8Array, events: number) {
  if (!committer.admit(events, payload.length)) throw new Error('the test queue is full');
  return committer.submit(payload, events, { events, bytes: payload.length });
}

/** Lets every held sync go, again and again, until every commit in `all` has settled. */
async function releaseUntilSettled(held: (() => void)[], all: Promise<number>[]): Promise<void> {
  let settled = 0;
  const count = () => settled++;
  for (const p of all) void p.then(count, count);
  const deadline = performance.now() + 10_000;
  while (settled < all.length) {
    if (performance.now() > deadline)
      throw new Error(`${all.length - settled} commits never settled`);
    for (const release of held.splice(0)) release();
    await Bun.sleep(1);
  }
}
