// An erasure and the copies of damaged log bytes a start keeps (`<file>.damaged-<offset>`): the
// person's records readable in them are cut (each copy rewritten durably, its other bytes kept
// as they were, for recovery by hand); where the damage itself holds the person's id, the
// erasure is not done and says which copy to recover and delete, and turns done once it is.

import { Database } from 'bun:sqlite';
import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../src/core/index.ts';
import type { ErasureMatch } from '../../src/storage/erasure-log.ts';
import { noFaults } from '../../src/storage/faults.ts';
import { DamagedCopies } from '../../src/storage/wal-damaged.ts';
import { frameHeader, framesFrom } from '../../src/storage/wal-frame.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  COPY,
  FIRST,
  filesHolding,
  recordIds,
  restartWithFirstRecordDamaged,
} from '../helpers/damaged-copies.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let t: TestApp | undefined;
let removeDir: (() => void) | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  removeDir?.();
  removeDir = undefined;
});

type Sent = { id: string; user: string; marker?: string };

/** One request, so one log record, of acme's events. */
async function sendRecord(app: TestApp, events: Sent[]): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: events.map((e) => ({
      event_id: e.id,
      name: 'signup',
      tenant_id: 'acme',
      user_id: e.user,
      properties: e.marker === undefined ? {} : { marker: e.marker },
    })),
  });
  expect(res.status).toBe(202);
}

async function eraseAndWait(app: TestApp, value: string) {
  const accepted = await app.engine.erasures.request('acme', 'user_id', value);
  await app.engine.erasures.settled();
  return app.engine.erasures.get('acme', accepted.id);
}

describe('an erasure and the damaged log bytes a start kept', () => {
  test("the person's records in them go; the damage and every other record stay", async () => {
    t = await makeTestApp();
    const marker = 'person-1@example.com';
    await sendRecord(t, [{ id: 'b1', user: 'u2' }]); // the record to be damaged
    await sendRecord(t, [
      { id: 'a1', user: 'u1', marker },
      { id: 'a2', user: 'u2' },
    ]);
    await sendRecord(t, [{ id: 'a3', user: 'u1', marker }]);
    await sendRecord(t, [{ id: 'c1', user: 'u3' }]);
    const damaged = await restartWithFirstRecordDamaged(t);
    const copy = path.join(t.dataDir, 'wal', COPY);
    expect(recordIds(copy)).toEqual([['a1', 'a2'], ['a3'], ['c1']]);

    const erasure = await eraseAndWait(t, 'u1');
    expect(erasure).toMatchObject({ status: 'done', reason: null });
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    // The damaged record is kept byte for byte, the others whole and readable.
    const after = fs.readFileSync(copy);
    expect(after.subarray(0, damaged.length).equals(damaged)).toBe(true);
    expect(recordIds(copy)).toEqual([['a2'], ['c1']]);
    expect(
      fs.readdirSync(path.join(t.dataDir, 'wal')).filter((n) => n.includes('damaged')),
    ).toEqual([COPY]);
  });

  test("the person's id in the damage: pending, saying what to do; done once it is done", async () => {
    t = await makeTestApp();
    const inDamage = 'person-2@example.com';
    const readable = 'person-3@example.com';
    await sendRecord(t, [{ id: 'a1', user: 'u1', marker: inDamage }]); // to be damaged
    await sendRecord(t, [
      { id: 'a2', user: 'u1', marker: readable },
      { id: 'b1', user: 'u2' },
    ]);
    await restartWithFirstRecordDamaged(t);

    const waiting = await eraseAndWait(t, 'u1');
    expect(waiting).toMatchObject({ status: 'pending', finishedAt: null });
    expect(waiting.reason).toContain(`wal/${COPY}`);
    expect(waiting.reason).toContain('recover what you need from those files by hand');
    // Its readable records are cut all the same; the damage is not touched.
    expect(filesHolding(t.dataDir, readable)).toEqual([]);
    expect(filesHolding(t.dataDir, inDamage)).toEqual([`wal/${COPY}`]);
    expect(recordIds(path.join(t.dataDir, 'wal', COPY))).toEqual([['b1']]);
    await t.engine.store.flusher.flush(); // tried again: still there
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', waiting.id).status).toBe('pending');

    // The operator recovers the copy by hand and deletes it: the next flush ends the erasure.
    fs.rmSync(path.join(t.dataDir, 'wal', COPY));
    await t.engine.store.flusher.flush();
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', waiting.id)).toMatchObject({
      status: 'done',
      reason: null,
    });
    expect(filesHolding(t.dataDir, inDamage)).toEqual([]);
  });
});

/** A restart once every debt is paid: it reads no damaged copy. */
async function restartReadingNoCopy(app: TestApp): Promise<void> {
  const cut = spyOn(DamagedCopies.prototype, 'cut');
  try {
    await app.restart();
    expect(cut).not.toHaveBeenCalled();
  } finally {
    cut.mockRestore();
  }
}

/**
 * A start after an older Tally ended erasure er_old of u1 while u1's id (and `marker`) sat in
 * the damage of the first record's copy: the cut is owed; `said` lists the lines saying so.
 */
async function startOwingACut(marker: string) {
  const lines: string[] = [];
  t = await makeTestApp({ log: createLogger('info', (line) => lines.push(line)) });
  await sendRecord(t, [{ id: 'a1', user: 'u1', marker }]); // to be damaged
  await sendRecord(t, [{ id: 'b1', user: 'u2' }]);
  await restartWithFirstRecordDamaged(t);
  const app = t;
  const said = () =>
    lines.filter((line) => line.includes("damaged log copies still hold a person's events"));
  await app.restart(() => endedByAnOlderTally(app, [['er_old', 'u1', 'done']]));
  return { app, said };
}
/**
 * Leaves the data directory as an older Tally (schema 12) leaves it after erasures of acme's users
 * that did not cut the copies: each ended (done or failed), and nothing owed for them.
 */
function endedByAnOlderTally(
  app: TestApp,
  ended: [id: string, user: string, status: string][],
  throughSeq = 1,
) {
  const db = new Database(path.join(app.dataDir, 'tally.sqlite'));
  try {
    db.run('DROP TABLE erasure_copy_cuts');
    db.run('PRAGMA user_version = 12');
    const insert = db.query(
      `INSERT INTO erasures (id, tenant, field, value, through_seq, status, created_at)
       VALUES (?1, 'acme', 'user_id', ?2, ?4, ?3, 0)`,
    );
    for (const [id, user, status] of ended) insert.run(id, user, status, throughSeq);
  } finally {
    db.close();
  }
}

describe('erasures an older Tally ended without cutting the copies (migration 013)', () => {
  test("the next start cuts the person's records from them, once", async () => {
    t = await makeTestApp();
    const [marker, failed] = ['person-6@example.com', 'person-7@example.com'];
    await sendRecord(t, [{ id: 'b1', user: 'u2' }]); // to be damaged
    await sendRecord(t, [
      { id: 'a1', user: 'u1', marker },
      { id: 'a2', user: 'u2' },
    ]);
    await sendRecord(t, [{ id: 'a3', user: 'u3', marker: failed }]);
    await restartWithFirstRecordDamaged(t);
    const copy = path.join(t.dataDir, 'wal', COPY);
    const app = t;
    await app.restart(() =>
      endedByAnOlderTally(app, [
        ['er_old', 'u1', 'done'],
        ['er_failed', 'u3', 'failed'],
      ]),
    );
    expect(filesHolding(app.dataDir, marker)).toEqual([]);
    expect(filesHolding(app.dataDir, failed)).toEqual([]);
    expect(recordIds(copy)).toEqual([['a2']]);
    // The erasures read as they were; the debt is paid, so a later start reads no copy for it.
    expect(app.engine.erasures.get('acme', 'er_old')).toMatchObject({ status: 'done' });
    await restartReadingNoCopy(app);
  });

  test("the id in a copy's damage: owed, and said at each start till the copy goes", async () => {
    const marker = 'person-8@example.com';
    const { app, said } = await startOwingACut(marker);
    expect(said()).toHaveLength(1);
    expect(said()[0]).toContain('er_old');
    expect(said()[0]).toContain(`wal/${COPY}`);
    expect(filesHolding(app.dataDir, marker)).toEqual([`wal/${COPY}`]);
    await app.restart();
    expect(said()).toHaveLength(2);
    // The operator recovers the copy by hand and deletes it: the next start pays the debt.
    await app.restart(() => fs.rmSync(path.join(app.dataDir, 'wal', COPY)));
    await app.restart();
    expect(said()).toHaveLength(2);
  });

  test("a log file still holding the person's records: a copy a later start keeps is cut", async () => {
    t = await makeTestApp();
    const marker = 'person-10@example.com';
    await sendRecord(t, [{ id: 'b1', user: 'u2' }]); // to be damaged
    await sendRecord(t, [{ id: 'a1', user: 'u1', marker }]);
    await sendRecord(t, [{ id: 'c1', user: 'u3' }]);
    const app = t;
    // An older Tally's erasure done without closing the log file that holds its records (before
    // c46f8b5) or one that failed: no copy yet, and the upgraded start stops before any flush.
    await app.restart(() => endedByAnOlderTally(app, [['er_old', 'u1', 'done']], 3));
    expect(filesHolding(app.dataDir, marker)).toEqual([`wal/${FIRST}`]);
    await restartWithFirstRecordDamaged(app);
    expect(filesHolding(app.dataDir, marker)).toEqual([]);
    expect(recordIds(path.join(app.dataDir, 'wal', COPY))).toEqual([['c1']]);
    // Paid now (the log holds none of its records): a later start reads no copy for it.
    await restartReadingNoCopy(app);
  });

  test('a cut still owed keeps its erasure past the newest 100 done ones', async () => {
    const marker = 'person-9@example.com';
    const { app, said } = await startOwingACut(marker);
    expect(said()).toHaveLength(1);
    // 100 done erasures after it: the next one asked for deletes the done ones past the newest
    // 100 whose cut-off a flush has passed, and the old one is among them but for its debt.
    await sendRecord(app, [{ id: 'c1', user: 'u3' }]);
    await app.engine.store.flusher.flush();
    const insert = app.engine.store.sqlite.query(
      `INSERT INTO erasures (id, tenant, field, value, through_seq, status, created_at)
       VALUES (?1, 'acme', 'user_id', 'nobody', 1, 'done', ?2)`,
    );
    for (let i = 1; i < 100; i++) insert.run(`er_${i}`, i);
    await eraseAndWait(app, 'nobody');
    expect(app.engine.erasures.get('acme', 'er_old')).toMatchObject({ status: 'done' });
    expect(app.engine.erasures.get('acme', 'er_1')).toMatchObject({ status: 'done' });
    await app.restart();
    expect(said()).toHaveLength(2);
    expect(filesHolding(app.dataDir, marker)).toEqual([`wal/${COPY}`]);
    // Paid once the operator deleted the copy: the next erasure asked for deletes it.
    await app.restart(() => fs.rmSync(path.join(app.dataDir, 'wal', COPY)));
    await eraseAndWait(app, 'nobody');
    expect(() => app.engine.erasures.get('acme', 'er_old')).toThrow('no erasure er_old');
  });
});

describe('the id as the log writes it', () => {
  test('quotes, backslash, non-ASCII, lone surrogate: found in the damage, and cut', async () => {
    t = await makeTestApp();
    // The log holds U+FFFD for the lone surrogate (ingest), the rest as JSON.stringify writes it.
    const id = 'q"\\é😀\ud800x';
    const inDamage = 'person-4@example.com';
    const readable = 'person-5@example.com';
    await sendRecord(t, [{ id: 'a1', user: id, marker: inDamage }]); // to be damaged
    await sendRecord(t, [{ id: 'a2', user: id, marker: readable }]);
    await sendRecord(t, [{ id: 'b1', user: 'u2' }]);
    await restartWithFirstRecordDamaged(t);

    const waiting = await eraseAndWait(t, id);
    expect(waiting).toMatchObject({ status: 'pending', finishedAt: null });
    expect(waiting.reason).toContain(`wal/${COPY}`);
    expect(filesHolding(t.dataDir, readable)).toEqual([]);
    expect(recordIds(path.join(t.dataDir, 'wal', COPY))).toEqual([['b1']]);
  });
});

describe('the copies rewritten', () => {
  const line = (tenant: string, id: string, user: string) =>
    JSON.stringify({ tenant, event_id: id, user_id: user });
  const frame = (seq: number, lines: string[]) => {
    const payload = Buffer.from(lines.join('\n'));
    return Buffer.concat([frameHeader(seq, payload), payload]);
  };
  const match: ErasureMatch = { tenant: 'acme', field: 'user_id', value: 'u1', throughSeq: 1 };

  test("only the tenant's events of the person, whatever their seq; a crash's temp file goes", async () => {
    const { dir, remove } = makeTempDir();
    removeDir = remove;
    const damage = Buffer.from('garbage without the id\n');
    const copy = path.join(dir, '0000000003.wal.damaged-4096');
    fs.writeFileSync(
      copy,
      Buffer.concat([
        damage,
        frame(7, [line('acme', 'a1', 'u1'), line('acme', 'a2', 'u2')]),
        frame(8, [line('beta', 'b1', 'u1')]), // another project's person of the same id
        frame(9, [line('acme', 'a3', 'u1')]), // the person's alone: the record goes
        frame(10, [line('acme', 'a4', 'u3')]),
      ]),
    );
    // A rewrite a crash cut short: the copy is whole, and the temp file goes.
    const temp = `${copy}.erasing`;
    fs.writeFileSync(temp, frame(9, [line('acme', 'a3', 'u1')]));
    const other = path.join(dir, '0000000001.wal.damaged-0'); // no record of the person
    fs.writeFileSync(other, Buffer.concat([damage, frame(2, [line('acme', 'a9', 'u2')])]));
    const otherBefore = fs.readFileSync(other);

    expect(await new DamagedCopies(dir, noFaults).cut({ kind: 'person', match })).toEqual([]);
    const after = fs.readFileSync(copy);
    expect(after.subarray(0, damage.length).equals(damage)).toBe(true);
    const frames = [...framesFrom(after, 0, 1)];
    expect(frames.map((f) => f.seq)).toEqual([7, 8, 10]);
    expect(frames.map((f) => Buffer.from(f.payload).toString())).toEqual([
      line('acme', 'a2', 'u2'),
      line('beta', 'b1', 'u1'),
      line('acme', 'a4', 'u3'),
    ]);
    expect(fs.existsSync(temp)).toBe(false);
    expect(fs.readFileSync(other).equals(otherBefore)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(other), path.basename(copy)]);
  });
  test('a copy whose damage holds the id is read again only once its file changed', async () => {
    const { dir, remove } = makeTempDir();
    removeDir = remove;
    const copy = path.join(dir, '0000000002.wal.damaged-0');
    const records = [frame(3, [line('acme', 'a1', 'u1')]), frame(4, [line('acme', 'a2', 'u2')])];
    fs.writeFileSync(copy, Buffer.concat([Buffer.from('torn "u1" event\n'), ...records]));
    const copies = new DamagedCopies(dir, noFaults);
    const shown = [`${path.basename(dir)}/${path.basename(copy)}`];
    expect(await copies.cut({ kind: 'person', match })).toEqual(shown); // its record goes
    expect(await copies.cut({ kind: 'person', match })).toEqual(shown); // nothing more
    const reads = spyOn(fs.promises, 'readFile');
    try {
      // Tried again after each flush while it waits for the operator: the same answer, unread.
      expect(await copies.cut({ kind: 'person', match })).toEqual(shown);
      expect(reads).not.toHaveBeenCalled();
      // Another person's erasure reads it.
      const other = { ...match, value: 'u2' };
      expect(await copies.cut({ kind: 'person', match: other })).toEqual([]);
      expect(reads).toHaveBeenCalledTimes(1);
      // The operator takes the id out of the damage by hand: read again, and nothing is left.
      const bytes = fs.readFileSync(copy);
      fs.writeFileSync(copy, Buffer.concat([Buffer.from('torn event\n'), bytes.subarray(16)]));
      expect(await copies.cut({ kind: 'person', match })).toEqual([]);
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      reads.mockRestore();
    }
  });
  test("an erasure's and a deletion's cut at once: each rewrites what the other left", async () => {
    const { dir, remove } = makeTempDir();
    removeDir = remove;
    const copy = path.join(dir, '0000000002.wal.damaged-0');
    const damage = Buffer.from('garbage without the id\n');
    const records = [
      frame(3, [line('acme', 'a1', 'u1'), line('acme', 'a2', 'u2')]),
      frame(4, [line('beta', 'b1', 'u1')]),
      frame(5, [line('gamma', 'c1', 'u1')]),
    ];
    fs.writeFileSync(copy, Buffer.concat([damage, ...records]));
    const copies = new DamagedCopies(dir, noFaults);
    const deletion = { kind: 'tenant', tenant: 'beta', throughSeq: 9, copies: [] } as const;
    const cuts = [copies.cut({ kind: 'person', match }), copies.cut(deletion)];
    expect(await Promise.all(cuts)).toEqual([[], []]);
    const after = fs.readFileSync(copy);
    expect(after.subarray(0, damage.length).equals(damage)).toBe(true);
    expect([...framesFrom(after, 0, 1)].map((f) => Buffer.from(f.payload).toString())).toEqual([
      line('acme', 'a2', 'u2'),
      line('gamma', 'c1', 'u1'),
    ]);
  });
});
