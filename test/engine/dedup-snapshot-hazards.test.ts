// What could make the dedup index's snapshot hold a key of an event that is not stored (its
// retry would be called a duplicate and lost), or lack one of a stored event (stored twice):
// groups refused for a full disk before the close, a store that failed fatally, an index
// shortened under DEDUP_KEYS_MAX and a higher one at the next start, and file system oddities
// where the snapshot or its temp file go. Each restart answers as a rebuild would.

import { afterEach, describe, expect, test } from 'bun:test';
import { createLogger, ManualClock } from '../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { engineOptions, T0 } from '../helpers/app.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeEvent } from '../helpers/memory-source.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let temp: ReturnType<typeof makeTempDir>;
let clock: ManualClock;
let engine: Engine | undefined;
let logs: { msg: string; reason?: string }[];

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  temp.remove();
});

function setUp(): void {
  temp = makeTempDir('tally-dedup-hazards-');
  clock = new ManualClock(T0);
  logs = [];
}

async function open(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  const log = createLogger('info', (line) => logs.push(JSON.parse(line)));
  engine = await openEngine(engineOptions(temp.dir, clock, { log, ...overrides }));
  return engine;
}

async function close(): Promise<void> {
  await engine?.close();
  engine = undefined;
}

async function ingest(tenant: string, ids: string[]) {
  const events = ids.map((id) => makeEvent({ tenant, event_id: id, timestamp: clock.now() }));
  return (engine as Engine).ingestor.ingest(events);
}

/** Sends `ids` of `tenant` (received now); each one's status. */
async function send(tenant: string, ids: string[]): Promise<string[]> {
  const outcome = await ingest(tenant, ids);
  if (outcome.kind !== 'ok') throw new Error(`refused: ${JSON.stringify(outcome)}`);
  return outcome.results.map((r) => r.status);
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const statuses = (status: string, n: number) => new Array<string>(n).fill(status);
const said = (msg: string) => logs.filter((l) => l.msg.includes(msg));
const loaded = () => said('loaded from its snapshot').length;
const notWritten = () => said('snapshot not written').map((l) => l.reason);

describe('the snapshot holds only durable events, and every remembered one', () => {
  test('ids of groups a full disk refused before the close are new after the restart', async () => {
    setUp();
    const disk = new LimitedDisk();
    await open({ fileIo: disk });
    expect(await send('acme', ids('kept-', 5))).toEqual(statuses('accepted', 5));
    disk.roomBytes = 100; // part of the next record fits: a short write, then ENOSPC
    expect(await ingest('acme', ids('refused-', 20))).toMatchObject({ kind: 'overloaded' });
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    await close();
    expect(notWritten()).toEqual([]);
    await open();
    expect(loaded()).toBe(1);
    expect(await send('acme', [...ids('kept-', 5), ...ids('refused-', 20)])).toEqual([
      ...statuses('duplicate', 5),
      ...statuses('accepted', 20),
    ]);
  });

  test('a deletion whose purge failed after its decision (a fatal error) leaves no snapshot', async () => {
    setUp();
    const fatal: unknown[] = [];
    await open({ onFatal: (error) => fatal.push(error) });
    expect(await send('acme', ['x-1'])).toEqual(['accepted']);
    expect(await send('beta', ['y-1'])).toEqual(['accepted']);
    const hot = (engine as Engine).store.hot as unknown as { purgeTenant: () => never };
    hot.purgeTenant = () => {
      throw new Error('IO Error: purge failed');
    };
    const deleting = (engine as Engine).deletions.delete('acme', {
      decide: (tombstone) => tombstone(),
    });
    expect(deleting).rejects.toThrow('purge failed');
    await deleting.catch(() => undefined);
    expect(fatal).toHaveLength(1);
    await close();
    expect(notWritten()).toEqual([expect.stringContaining('purge failed')]);
    await open();
    expect(loaded()).toBe(0);
    // The tombstone holds: acme's event is not stored, so its id is new; beta's stays known.
    expect(await send('acme', ['x-1'])).toEqual(['accepted']);
    expect(await send('beta', ['y-1'])).toEqual(['duplicate']);
  });
});
