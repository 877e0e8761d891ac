// A tenant's deletion and the copies of damaged log bytes a start keeps
// (`<file>.damaged-<offset>`): the tenant's records readable in them are cut (each copy
// rewritten durably, its other bytes kept as they were, for recovery by hand); where the damage
// itself holds the tenant's name, the deletion reports it as it reports files it could not
// remove, and each start says so until the copy is gone; a stop before the cut is done leaves
// it for the next start.

import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../src/core/index.ts';
import { noFaults } from '../../src/storage/faults.ts';
import type { FaultPoint } from '../../src/storage/index.ts';
import { DamagedCopies } from '../../src/storage/wal-damaged.ts';
import { frameHeader, framesFrom } from '../../src/storage/wal-frame.ts';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  COPY,
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

/** One request, so one log record, of `tenant`'s events (a marker in their properties). */
async function sendRecord(app: TestApp, tenant: string, ids: string[], marker = ''): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: ids.map((id) => ({
      event_id: id,
      name: 'signup',
      tenant_id: tenant,
      properties: { marker },
    })),
  });
  expect(res.status).toBe(202);
  await countersBuilt(app, tenant);
}

/** Deletes `tenant` through the store alone (no project rows): the tombstone is the decision. */
const erase = (app: TestApp, tenant: string) =>
  app.engine.store.eraser.erase(tenant, (tombstone) => tombstone());

const owedCuts = (app: TestApp) =>
  app.engine.store.sqlite.query('SELECT tenant FROM damaged_copy_cuts').all();

const walFiles = (app: TestApp) => fs.readdirSync(path.join(app.dataDir, 'wal')).sort();

/** A fault hook that throws once, the first time `point` is reached (a stop there). */
function stopOnceAt(point: FaultPoint) {
  let done = false;
  return (reached: FaultPoint) => {
    if (reached !== point || done) return;
    done = true;
    throw new Error(`stopped at ${point}`);
  };
}

describe('a deletion and the damaged log bytes a start kept', () => {
  test("the tenant's records in them go; the damage and the others' records stay", async () => {
    t = await makeTestApp();
    const marker = 'acme-secret-1';
    await sendRecord(t, 'globex', ['g0']); // the record to be damaged
    await sendRecord(t, 'acme', ['a1', 'a2'], marker);
    await sendRecord(t, 'globex', ['g1']);
    await sendRecord(t, 'acme', ['a3'], marker);
    const damaged = await restartWithFirstRecordDamaged(t);
    const copy = path.join(t.dataDir, 'wal', COPY);
    expect(recordIds(copy)).toEqual([['a1', 'a2'], ['g1'], ['a3']]);

    const erased = await erase(t, 'acme');
    expect(erased.filesPending).toBeNull();
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    const after = fs.readFileSync(copy);
    expect(after.subarray(0, damaged.length).equals(damaged)).toBe(true);
    expect(recordIds(copy)).toEqual([['g1']]);
    expect(walFiles(t).filter((n) => n.includes('damaged'))).toEqual([COPY]);
    expect(owedCuts(t)).toEqual([]);
  });

  test('its name in the damage: reported, and said at each start until it is gone', async () => {
    const lines: string[] = [];
    t = await makeTestApp({ log: createLogger('info', (line) => lines.push(line)) });
    const inDamage = 'acme-secret-2';
    const readable = 'acme-secret-3';
    await sendRecord(t, 'acme', ['a1'], inDamage); // to be damaged
    await sendRecord(t, 'acme', ['a2'], readable);
    await sendRecord(t, 'globex', ['g1']);
    await restartWithFirstRecordDamaged(t);

    const erased = await erase(t, 'acme');
    expect(erased.filesPending).toContain(`wal/${COPY}`);
    expect(erased.filesPending).toContain("hold the deleted project's name");
    expect(erased.filesPending).toContain('recover what you need from those files by hand');
    // Its readable records are cut all the same; the damage is not touched.
    expect(filesHolding(t.dataDir, readable)).toEqual([]);
    expect(filesHolding(t.dataDir, inDamage)).toEqual([`wal/${COPY}`]);
    expect(recordIds(path.join(t.dataDir, 'wal', COPY))).toEqual([['g1']]);

    const said = () => lines.filter((l) => l.includes("still hold a deleted project's records"));
    await t.restart();
    expect(said()).toHaveLength(1);
    expect(said()[0]).toContain(`wal/${COPY}`);
    // The operator recovers the copy by hand and deletes it: the next start says nothing.
    fs.rmSync(path.join(t.dataDir, 'wal', COPY));
    await t.restart();
    expect(said()).toHaveLength(1);
    expect(owedCuts(t)).toEqual([]);
  });

  for (const point of ['delete:after-retire', 'copies:after-write'] as const) {
    test(`a stop at ${point}: the next start makes the cut`, async () => {
      t = await makeTestApp({ fault: stopOnceAt(point) });
      const marker = 'acme-secret-4';
      await sendRecord(t, 'globex', ['g0']); // the record to be damaged
      await sendRecord(t, 'acme', ['a1'], marker);
      await sendRecord(t, 'globex', ['g1']);
      await restartWithFirstRecordDamaged(t);

      const erasing = erase(t, 'acme');
      if (point === 'delete:after-retire') {
        await expect(erasing).rejects.toThrow(`stopped at ${point}`);
      } else {
        // A failed rewrite: the deletion says so, and its temp file is left as a crash leaves it.
        expect((await erasing).filesPending).toContain('cut again at the next start');
        expect(walFiles(t)).toContain(`${COPY}.erasing`);
      }
      expect(filesHolding(t.dataDir, marker)).toContain(`wal/${COPY}`);
      expect(owedCuts(t)).toEqual([{ tenant: 'acme' }]);

      await t.restart();
      expect(filesHolding(t.dataDir, marker)).toEqual([]);
      expect(recordIds(path.join(t.dataDir, 'wal', COPY))).toEqual([['g1']]);
      expect(walFiles(t).filter((n) => n.includes('damaged'))).toEqual([COPY]);
      expect(owedCuts(t)).toEqual([]);
    });
  }
});

describe('a stop after a deletion decided with no copy, then a start that keeps one', () => {
  test("the tenant's records that start kept in it are cut all the same", async () => {
    t = await makeTestApp({ fault: stopOnceAt('delete:after-retire') });
    const marker = 'acme-secret-6';
    await sendRecord(t, 'globex', ['g0']); // the record to be damaged
    await sendRecord(t, 'acme', ['a1'], marker);
    await sendRecord(t, 'globex', ['g1']);
    await expect(erase(t, 'acme')).rejects.toThrow('stopped at delete:after-retire');
    expect(owedCuts(t)).toEqual([{ tenant: 'acme' }]);

    // A start with the log whole: nothing to cut, but the file holding its records is the
    // current one still, so the cut stays owed (without a word: no copy holds anything).
    await t.restart();
    expect(owedCuts(t)).toEqual([{ tenant: 'acme' }]);
    // A start that finds that file damaged cuts it there, keeping a copy of the rest.
    await restartWithFirstRecordDamaged(t);
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    expect(recordIds(path.join(t.dataDir, 'wal', COPY))).toEqual([['g1']]);
    expect(owedCuts(t)).toEqual([]);
  });
});

describe('a copy a later start kept under the name of one the operator removed', () => {
  test("is cut as a later copy: the recreated project's records in it stay", async () => {
    t = await makeTestApp();
    await sendRecord(t, 'acme', ['a1'], 'acme-secret-5'); // damaged: the name in the damage
    await sendRecord(t, 'globex', ['g1']);
    await restartWithFirstRecordDamaged(t);
    expect((await erase(t, 'acme')).filesPending).toContain(`wal/${COPY}`);
    expect(owedCuts(t)).toEqual([{ tenant: 'acme' }]);

    // The project is made again and sends; the operator recovers the copy and removes it; the
    // same bad sector tears the log at the same offset, and that start keeps a copy of that
    // name again, holding the new project's records (sent after the deletion).
    const kept = 'acme-again-1';
    await sendRecord(t, 'globex', ['g2']); // the record to be damaged
    await sendRecord(t, 'acme', ['a2'], kept);
    await sendRecord(t, 'globex', ['g3']);
    const copy = path.join(t.dataDir, 'wal', COPY);
    fs.rmSync(copy);
    await restartWithFirstRecordDamaged(t);
    expect(recordIds(copy)).toEqual([['a2'], ['g3']]);
    expect(filesHolding(t.dataDir, kept)).toEqual([`wal/${COPY}`]);
    expect(owedCuts(t)).toEqual([]);
  });
});

describe('the copies cut of a deleted tenant', () => {
  const frame = (seq: number, tenant: string, ids: string[]) => {
    const lines = ids.map((id) => JSON.stringify({ tenant, event_id: id }));
    const payload = Buffer.from(lines.join('\n'));
    return Buffer.concat([frameHeader(seq, payload), payload]);
  };
  const damage = Buffer.from('garbage without the name\n');
  const write = (file: string, frames: Buffer[]) =>
    fs.writeFileSync(file, Buffer.concat([damage, ...frames]));
  const seqsOf = (file: string) =>
    [...framesFrom(fs.readFileSync(file), 0, 1)].map((f) => [f.seq, recordTenant(f.payload)]);
  const recordTenant = (payload: Uint8Array) =>
    (JSON.parse(Buffer.from(payload).toString().split('\n')[0] as string) as { tenant: string })
      .tenant;

  test('all in the copies it was decided with; in a later one, those up to its seq', async () => {
    const { dir, remove } = makeTempDir();
    removeDir = remove;
    const before = path.join(dir, '0000000002.wal.damaged-0');
    const later = path.join(dir, '0000000004.wal.damaged-512');
    const records = [
      frame(40, 'acme', ['a1', 'a2']),
      frame(50, 'globex', ['g1']),
      frame(60, 'acme', ['a3']), // above the deletion's seq
    ];
    write(before, records);
    write(later, records);
    const copies = new DamagedCopies(dir, noFaults);
    const cut = {
      kind: 'tenant',
      tenant: 'acme',
      throughSeq: 55,
      copies: [path.basename(before)],
    } as const;
    expect(await copies.cut(cut)).toEqual([]);
    expect(seqsOf(before)).toEqual([[50, 'globex']]);
    // Kept by a start after the deletion: its acme record above the seq was sent after it.
    expect(seqsOf(later)).toEqual([
      [50, 'globex'],
      [60, 'acme'],
    ]);
    for (const file of [before, later]) {
      expect(fs.readFileSync(file).subarray(0, damage.length).equals(damage)).toBe(true);
    }
  });
});
