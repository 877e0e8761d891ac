// The memory of the dedup index's tables: a table a doubling replaced, or a generation dropped
// (expired, or early at DEDUP_KEYS_MAX), is freed at once (its buffer detached), not left to the
// collector; a table held for a snapshot being written stays whole until the last hold ends.

import { describe, expect, test } from 'bun:test';
import { HashTable, SLOTS_MIN } from '../../src/engine/dedup-table.ts';
import { DedupIndex } from '../../src/engine/index.ts';

const DAY = 86_400_000;
/** Keys a new table takes before its first doubling (LOAD_MAX of SLOTS_MIN). */
const FIRST_LIMIT = Math.floor(SLOTS_MIN * 0.7);

/** Distinct hashes, lane 0 never 0 (as DedupIndex makes them). */
function hashOf(i: number): Int32Array {
  return Int32Array.of(i + 1, Math.imul(i, 0x9e3779b1), i ^ 0x5bd1e995, ~i);
}

function fill(table: HashTable, from: number, to: number): void {
  for (let i = from; i < to; i++) expect(table.insert(hashOf(i))).toBe(true);
}

/** Whether the table finds each of the first `n` hashes. */
function findsAll(table: HashTable, n: number): boolean {
  for (let i = 0; i < n; i++) if (table.find(hashOf(i)) < 0) return false;
  return true;
}

/** The table's slots now, without keeping a hold on them. */
function peek(table: HashTable): Int32Array<ArrayBuffer> {
  const slots = table.hold();
  table.release();
  return slots;
}

describe('HashTable memory', () => {
  test('a doubling frees the table it replaced at once', () => {
    const table = new HashTable();
    fill(table, 0, FIRST_LIMIT);
    const old = peek(table);
    expect(old.byteLength).toBe(SLOTS_MIN * 16);
    fill(table, FIRST_LIMIT, FIRST_LIMIT + 1); // the doubling
    expect(table.bytes).toBe(2 * SLOTS_MIN * 16);
    expect(old.buffer.detached).toBe(true);
    expect(old.byteLength).toBe(0);
    expect(findsAll(table, FIRST_LIMIT + 1)).toBe(true);
  });

  test('a held table stays whole through doublings until its last hold is released', () => {
    const table = new HashTable();
    fill(table, 0, FIRST_LIMIT);
    const first = table.hold();
    const second = table.hold();
    expect(second).toBe(first);
    const copy = first.slice();
    fill(table, FIRST_LIMIT, 4 * FIRST_LIMIT); // two doublings while held
    expect(table.bytes).toBe(4 * SLOTS_MIN * 16);
    const between = peek(table); // the second table, replaced while held too
    table.release();
    expect(first).toEqual(copy); // one hold left: not a slot changed
    table.release();
    expect(first.byteLength).toBe(0);
    expect(between.byteLength).toBe(4 * SLOTS_MIN * 16); // the table in use is never freed
    expect(findsAll(table, 4 * FIRST_LIMIT)).toBe(true);
    fill(table, 4 * FIRST_LIMIT, 8 * FIRST_LIMIT); // not held now: freed at the doubling
    expect(between.byteLength).toBe(0);
  });

  test('a dropped table is freed at once, or at its last release when held', () => {
    const table = new HashTable();
    fill(table, 0, 10);
    const slots = peek(table);
    table.drop();
    expect(slots.byteLength).toBe(0);
    expect(table.bytes).toBe(SLOTS_MIN * 16); // an empty table left, not the detached slots
    expect(table.find(hashOf(0))).toBe(-1);
    expect(table.count).toBe(0);
    const held = new HashTable();
    fill(held, 0, 10);
    const heldSlots = held.hold();
    held.drop();
    expect(heldSlots.byteLength).toBe(SLOTS_MIN * 16);
    held.release();
    expect(heldSlots.byteLength).toBe(0);
  });

  test('a release without a hold is a bug', () => {
    expect(() => new HashTable().release()).toThrow('released only when held');
  });
});

describe('DedupIndex memory', () => {
  test('expired generations and those dropped early free their tables at once', () => {
    const index = new DedupIndex({ windowMs: 8 * DAY, keysMax: 3 });
    for (let day = 0; day < 3; day++) index.add(`k${day}`, day * DAY); // a generation a day
    const held = index.holdState();
    const slots = held.state.generations.map((g) => g.slots);
    held.release();
    expect(index.makeRoom(1, 2 * DAY)).toBe(true); // drops day 0
    expect(slots.map((s) => s.byteLength)).toEqual([0, SLOTS_MIN * 16, SLOTS_MIN * 16]);
    index.expire(10 * DAY); // day 1 has ended a window before
    expect(slots.map((s) => s.byteLength)).toEqual([0, 0, SLOTS_MIN * 16]);
    expect(index.has('k2')).toBe(true);
  });

  test('a held state keeps every table whole until released, once', () => {
    const index = new DedupIndex({ windowMs: 0, keysMax: 10_000 });
    for (let i = 0; i < FIRST_LIMIT; i++) index.add(`k${i}`, 0);
    const held = index.holdState();
    const [generation] = held.state.generations;
    const copy = generation?.slots.slice();
    for (let i = FIRST_LIMIT; i < 4 * FIRST_LIMIT; i++) index.add(`k${i}`, 0);
    expect(index.bytes).toBe(4 * SLOTS_MIN * 16);
    expect(generation?.slots).toEqual(copy as Int32Array<ArrayBuffer>);
    expect(generation?.count).toBe(FIRST_LIMIT);
    held.release();
    expect(generation?.slots.byteLength).toBe(0);
    expect(() => held.release()).toThrow('released once');
    for (let i = 0; i < 4 * FIRST_LIMIT; i++) expect(index.has(`k${i}`)).toBe(true);
  });
});
