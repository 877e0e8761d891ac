// A tenant's deletion in the engine: events handed to its actor before it are acknowledged and
// deleted with it, ingest while it runs is refused, and afterwards the tenant starts empty
// (its live counters and remembered event ids gone); a decision that fails deletes nothing.

import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import { AppError } from '../../src/core/index.ts';
import { TenantActor } from '../../src/engine/tenant-actor.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { holdDisk } from '../helpers/hold-disk.ts';
import { makeEvent } from '../helpers/memory-source.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const event = (eventId: string) => makeEvent({ event_id: eventId, timestamp: T0 });
const tombstoneOnly = { decide: (tombstone: () => void) => tombstone() };

describe('deleting a tenant in the engine', () => {
  test('in flight before: acknowledged and deleted; while it runs: refused; after: empty', async () => {
    t = await makeTestApp();
    expect((await t.engine.ingestor.ingest([event('warm')])).kind).toBe('ok');
    // In the actor's mailbox, its commit not run yet, when the deletion begins.
    const before = t.engine.ingestor.ingest([event('in-flight')]);
    const deletion = t.engine.deletions.delete('acme', tombstoneOnly);
    expect(t.engine.deletions.isDeleting('acme')).toBe(true);
    const during = t.engine.ingestor.ingest([event('during')]);
    expect(await before).toMatchObject({ kind: 'ok', accepted: 1 });
    expect(await during).toEqual({ kind: 'tenant_deleting', tenant: 'acme' });
    expect(await deletion).toMatchObject({ hotEvents: 2, segments: 0 });
    expect(t.engine.deletions.isDeleting('acme')).toBe(false);
    expect(await t.count('acme')).toBe(0);
    expect(t.engine.registry.peek('acme')).toBeUndefined(); // its live counters went

    // The same ids are new for the tenant now, once.
    const again = await t.engine.ingestor.ingest([event('warm'), event('in-flight')]);
    expect(again).toMatchObject({ kind: 'ok', accepted: 2, duplicates: 0 });
    const actor = t.engine.registry.peek('acme');
    await actor?.whenReady();
    expect(actor?.rollups.snapshot(T0).windows['1m'].events).toBe(2);
    await t.restart();
    expect(await t.count('acme')).toBe(2);
    const replayed = await t.engine.ingestor.ingest([event('warm')]);
    expect(replayed).toMatchObject({ kind: 'ok', accepted: 0, duplicates: 1 });
  });

  test('events in flight in an actor a rebuild dropped are deleted too', async () => {
    t = await makeTestApp();
    const app = t;
    expect((await app.engine.ingestor.ingest([event('warm')])).kind).toBe('ok');
    const openDisk = holdDisk(app); // the commit of the next event waits for the disk
    try {
      const before = app.engine.ingestor.ingest([event('in-flight')]);
      while ((app.engine.registry.peek('acme')?.inFlight ?? 0) === 0) await Bun.sleep(1);
      app.engine.registry.rebuild('acme'); // as an erasure's end does: the actor is dropped
      const deletion = app.engine.deletions.delete('acme', tombstoneOnly);
      await Bun.sleep(50); // the deletion waits for the dropped actor's commit
      expect(Bun.peek.status(deletion)).toBe('pending');
      openDisk();
      expect(await before).toMatchObject({ kind: 'ok', accepted: 1 });
      expect(await deletion).toMatchObject({ hotEvents: 2 });
      expect(await app.count('acme')).toBe(0);
    } finally {
      openDisk();
    }
  });

  test('a decision that fails deletes nothing, and ingest goes on', async () => {
    t = await makeTestApp();
    await t.engine.ingestor.ingest([event('kept')]);
    const refused = t.engine.deletions.delete('acme', {
      decide: () => {
        throw new AppError('not_found', 'no project acme');
      },
    });
    await expect(refused).rejects.toThrow('no project acme');
    expect(await t.count('acme')).toBe(1);
    const next = await t.engine.ingestor.ingest([event('kept'), event('next')]);
    expect(next).toMatchObject({ kind: 'ok', accepted: 1, duplicates: 1 });
  });

  test('a batch that waited for its actors to start while a tenant of it was deleted: refused', async () => {
    // A batch of two tenants waits, before anything is submitted, for their new actors to be
    // started (a predecessor's events answered, or past the bound of commits held during
    // rebuilds, the rebuilds done). The deletion of one of them runs to its end meanwhile:
    // the batch, checked before it, must not write into the deleted tenant after that.
    t = await makeTestApp();
    let start = () => {};
    const started = new Promise<void>((resolve) => {
      start = resolve;
    });
    const proto = TenantActor.prototype;
    const isStarted = Object.getOwnPropertyDescriptor(proto, 'isStarted');
    Object.defineProperty(proto, 'isStarted', { get: () => false, configurable: true });
    const whenStarted = spyOn(proto, 'whenStarted').mockImplementation(() => started);
    try {
      const batch = [event('a'), { ...event('b'), tenant: 'other' }];
      const outcome = t.engine.ingestor.ingest(batch);
      await t.engine.deletions.delete('acme', tombstoneOnly);
      start();
      expect(await outcome).toEqual({ kind: 'tenant_deleting', tenant: 'acme' });
    } finally {
      whenStarted.mockRestore();
      if (isStarted !== undefined) Object.defineProperty(proto, 'isStarted', isStarted);
    }
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('other')).toBe(0);
  });
});
