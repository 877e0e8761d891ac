import { describe, expect, test } from 'bun:test';
import { DedupIndex } from '../../src/engine/index.ts';

const DAY = 86_400_000;

/** A key shaped like eventKey(tenant, event_id); `salt` makes a disjoint family of keys. */
function key(i: number, salt = 'a'): string {
  return `tenant_${i % 13}\u0000${salt}-${i.toString(36).padStart(10, '0')}`;
}

describe('DedupIndex', () => {
  // README Limits: "The snapshot keeps the index's hash seed from start to start (a rebuild
  // draws a new one)": each index built is seeded anew, so ids cannot be aimed at its probes.
  test('each index built draws its own hash seed; a restored one keeps its own', () => {
    const seedOf = (index: DedupIndex) => {
      const held = index.holdState();
      held.release();
      return held.state.seed;
    };
    const options = { windowMs: 8 * DAY, keysMax: 1000 };
    const seeds = new Set(Array.from({ length: 8 }, () => seedOf(new DedupIndex(options))));
    expect(seeds.size).toBe(8);
    const built = new DedupIndex(options);
    const held = built.holdState();
    expect(seedOf(DedupIndex.restore(options, held.state))).toBe(seedOf(built));
    held.release();
  });

  test('remembers a key for at least the window and at most 9/8 of it', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    const t0 = 100 * DAY;
    index.add('k', t0);
    index.expire(t0 + 8 * DAY - 1);
    expect(index.has('k')).toBe(true);
    index.expire(t0 + 9 * DAY);
    expect(index.has('k')).toBe(false);
    expect(index.size).toBe(0);
  });

  test('expires generations one by one, each after its own window', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    for (let day = 0; day < 8; day++) index.add(`k${day}`, day * DAY);
    expect(index.size).toBe(8);
    expect(index.expire(10 * DAY)).toBe(2);
    expect([0, 1, 2, 3].map((day) => index.has(`k${day}`))).toEqual([false, false, true, true]);
    expect(index.isExpired(1 * DAY, 10 * DAY)).toBe(true);
    expect(index.isExpired(2 * DAY, 10 * DAY)).toBe(false);
    expect(index.size).toBe(6);
  });

  test("tells from when an id's copy received last was received: its generation's start", () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    const at = 100 * DAY + 5 * 3_600_000; // generations of a day
    index.add(index.keyOf('acme', 'e1'), at);
    expect(index.receivedSince('acme', 'e1')).toBe(100 * DAY);
    expect(index.receivedSince('acme', 'e2')).toBeNull(); // never stored
    expect(index.receivedSince('globex', 'e1')).toBeNull(); // another tenant's id
    index.forgetTenant('acme');
    expect(index.receivedSince('acme', 'e1')).toBeNull(); // a deleted tenant's ids are new
    // Stored again once forgotten early, at start the key follows its newer copy.
    index.addNewest(index.keyOf('acme', 'e3'), at);
    index.addNewest(index.keyOf('acme', 'e3'), at + 3 * DAY);
    expect(index.receivedSince('acme', 'e3')).toBe(103 * DAY);
    const forever = new DedupIndex({ windowMs: 0, keysMax: 100 });
    forever.add(forever.keyOf('acme', 'e1'), at);
    expect(forever.receivedSince('acme', 'e1')).toBeNull(); // one generation: all time
  });

  test('a zero window remembers forever', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 100 });
    index.add('k', 0);
    index.expire(10_000 * DAY);
    expect(index.has('k')).toBe(true);
    expect(index.isExpired(0, 10_000 * DAY)).toBe(false);
  });

  test('counts keys against its maximum and can undo an add', () => {
    const index = new DedupIndex({ windowMs: DAY, keysMax: 2 });
    index.add('a', 0);
    expect(index.wouldOverflow(1)).toBe(false);
    expect(index.wouldOverflow(2)).toBe(true);
    index.remove('a', 0);
    expect(index.has('a')).toBe(false);
    expect(index.size).toBe(0);
  });

  test('at its bound it forgets its oldest generations early, never the newest', () => {
    const told: [number, number][] = [];
    const index = new DedupIndex({
      windowMs: 8 * DAY, // generations of one day
      keysMax: 3,
      onShortened: (dropped, since) => told.push([dropped, since]),
    });
    index.add('d0', 0);
    index.add('d1', DAY);
    index.add('d2', 2 * DAY);
    expect(index.makeRoom(1, 2 * DAY)).toBe(true); // day 0 goes: 'd0' is no longer remembered
    expect(told).toEqual([[1, DAY]]);
    expect(index.has('d0')).toBe(false);
    expect(index.has('d1') && index.has('d2')).toBe(true);
    expect(index.rememberedSince(2 * DAY)).toBe(DAY);
    expect(index.droppedEarly).toBe(1);
    // Once the dropped keys would have expired anyway, the whole window is remembered again.
    expect(index.rememberedSince(9 * DAY)).toBeNull();
  });

  test('no room when the newest generation alone is full, or the window is forever', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 2 });
    index.add('a', 0);
    index.add('b', 0);
    expect(index.makeRoom(1, 0)).toBe(false);
    expect(index.size).toBe(2);
    // Once the next generation began, the full one is an older one: it goes.
    expect(index.makeRoom(1, DAY)).toBe(true);
    expect(index.size).toBe(0);
    const forever = new DedupIndex({ windowMs: 0, keysMax: 1 });
    forever.add('a', 0);
    expect(forever.makeRoom(1, 1000 * DAY)).toBe(false);
    expect(forever.has('a')).toBe(true);
  });

  test('remove touches only the generation of its received_at, and unknown keys not at all', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    index.add('a', 0);
    index.remove('a', 5 * DAY);
    index.remove('b', 0);
    expect(index.has('a')).toBe(true);
    expect(index.size).toBe(1);
  });

  test('adding a key twice to one generation counts it once', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 100 });
    index.add('a', 0);
    index.add('a', 0);
    expect(index.size).toBe(1);
  });

  test('hasOrAdd answers like has and adds like add', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
    expect(index.hasOrAdd('a', 0)).toBe(false);
    expect(index.hasOrAdd('a', 3 * DAY)).toBe(true);
    expect(index.has('a')).toBe(true);
    expect(index.size).toBe(1);
    index.expire(9 * DAY);
    expect(index.hasOrAdd('a', 9 * DAY)).toBe(false);
    expect(index.size).toBe(1);
  });

  test('addNewest keeps a key in its newest copy generation, whatever order they come in', () => {
    for (const order of [
      [0, 3 * DAY],
      [3 * DAY, 0],
    ]) {
      const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 100 });
      for (const at of order) index.addNewest('a', at);
      expect(index.size).toBe(1);
      index.expire(9 * DAY); // day 0's generation goes, day 3's stays
      expect([index.has('a'), index.size]).toEqual([true, 1]);
    }
  });

  test('grows across many keys and finds each of them, in every generation', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 1_000_000 });
    const n = 300_000;
    for (let i = 0; i < n; i++) index.add(key(i), (i % 9) * DAY);
    expect(index.size).toBe(n);
    let found = 0;
    for (let i = 0; i < n; i++) if (index.has(key(i))) found++;
    expect(found).toBe(n);
  });

  test('counts the bytes of its tables: one a generation, grown by doubling, 23–46 B a key', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 1_000_000 });
    expect(index.bytes).toBe(0);
    index.add(key(0), 0);
    const smallest = 16 * 1024; // a new generation's table: 1,024 slots of 16 bytes
    expect(index.bytes).toBe(smallest);
    const seen = [smallest];
    for (let i = 1; i < 200_000; i++) {
      index.add(key(i), 0);
      if (index.bytes !== seen.at(-1)) seen.push(index.bytes);
    }
    // Each change is the one table doubling: 16 KiB, 32 KiB, … 8 MiB.
    expect(seen).toEqual(seen.map((_, i) => smallest * 2 ** i));
    expect(seen.length).toBe(10);
    // Between half full and full at a load of 0.7: 16 / 0.7 to 2 × 16 / 0.7 bytes per key.
    expect(index.bytes / index.size).toBeGreaterThanOrEqual(16 / 0.7);
    expect(index.bytes / index.size).toBeLessThanOrEqual((2 * 16) / 0.7);
    const oneGeneration = index.bytes;
    index.add(key(0, 'b'), 2 * DAY); // a second generation: a table of its own
    expect(index.bytes).toBe(oneGeneration + smallest);
    index.expire(10 * DAY); // day 0's generation goes, and its table with it
    expect([index.size, index.bytes]).toEqual([1, smallest]);
  });

  test('a generation emptied by remove goes with its table when it expires', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 1_000_000 });
    index.add(key(0), 0);
    index.add(key(1), 2 * DAY);
    index.remove(key(0), 0); // a refused write: day 0's generation now holds no key
    const bothTables = index.bytes;
    expect(index.expire(10 * DAY)).toBe(0); // day 0's generation expires, with none of its keys
    // Its table was kept (and probed by every lookup) until some generation with keys expired.
    expect(index.bytes).toBe(bothTables / 2);
    expect([index.size, index.has(key(1))]).toEqual([1, true]);
  });

  test('removing keys keeps every other key reachable (backward-shift deletion)', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 1_000_000 });
    const n = 100_000;
    for (let i = 0; i < n; i++) index.add(key(i), 0);
    for (let i = 0; i < n; i += 3) index.remove(key(i), 0);
    const wrong: number[] = [];
    for (let i = 0; i < n; i++) if (index.has(key(i)) !== (i % 3 !== 0)) wrong.push(i);
    expect(wrong).toEqual([]);
    expect(index.size).toBe(n - Math.ceil(n / 3));
    for (let i = 0; i < n; i += 3) expect(index.hasOrAdd(key(i), 0)).toBe(false);
    expect(index.size).toBe(n);
  });

  test('never-added keys are absent among millions of added ones', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 10_000_000 });
    const n = 2_000_000;
    for (let i = 0; i < n; i++) index.add(key(i), 0);
    let falsePositives = 0;
    let misses = 0;
    for (let i = 0; i < n; i++) {
      if (index.has(key(i, 'b'))) falsePositives++;
      if (!index.has(key(i))) misses++;
    }
    expect({ falsePositives, misses }).toEqual({ falsePositives: 0, misses: 0 });
  }, 60_000);
});
