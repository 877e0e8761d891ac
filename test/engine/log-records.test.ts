// A tenant's tick becomes log records of at most RECORD_BYTES_MAX each. One record per tick
// made a tick of many large batches (60 × 5 MB) one frame over the 256 MiB frame limit, which
// was written, fsynced and acknowledged, then read as corruption on replay and dropped.

import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BaseEvent } from '../../src/core/index.ts';
import { RECORD_BYTES_MAX } from '../../src/storage/index.ts';
import { FRAME_HEADER_BYTES } from '../../src/storage/wal-frame.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { makeEvent } from '../helpers/memory-source.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const BATCHES = 5;
const EVENTS_PER_BATCH = 4000;
/** ~1 KB per stored line: 5 × 4,000 of them are ~20 MB, over one record's bound. */
const PAD = 'x'.repeat(700);

function batch(b: number): BaseEvent[] {
  return Array.from({ length: EVENTS_PER_BATCH }, (_, i) =>
    makeEvent({
      event_id: `b${b}-${i}`,
      timestamp: T0,
      user_id: `u${i}`,
      path: '/',
      properties: { pad: PAD },
    }),
  );
}

/** The payload length of every frame in the log directory. */
function framePayloadBytes(walDir: string): number[] {
  const sizes: number[] = [];
  for (const name of fs.readdirSync(walDir).sort()) {
    const data = fs.readFileSync(path.join(walDir, name));
    for (let at = 0; at + FRAME_HEADER_BYTES <= data.length; ) {
      const length = data.readUInt32LE(at);
      sizes.push(length);
      at += FRAME_HEADER_BYTES + length;
    }
  }
  return sizes;
}

test('one tick over the record bound is split into bounded records; all replay', async () => {
  t = await makeTestApp();
  const { ingestor } = t.engine;
  // Not awaited one by one: every batch reaches the actor's mailbox before its tick runs.
  const outcomes = await Promise.all(
    Array.from({ length: BATCHES }, (_, b) => ingestor.ingest(batch(b))),
  );
  expect(outcomes.map((o) => o.kind)).toEqual(Array(BATCHES).fill('ok'));
  const sizes = framePayloadBytes(path.join(t.dataDir, 'wal'));
  const total = sizes.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(RECORD_BYTES_MAX); // the tick was over one record's bound
  expect(sizes.length).toBeGreaterThan(1);
  for (const size of sizes) expect(size).toBeLessThanOrEqual(RECORD_BYTES_MAX);
  expect(await t.count('acme')).toBe(BATCHES * EVENTS_PER_BATCH);

  await t.restart();
  expect(await t.count('acme')).toBe(BATCHES * EVENTS_PER_BATCH);
  const again = await t.post('/api/v1/events', { event_id: 'b0-0', name: 'x', tenant_id: 'acme' });
  expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
});

/** Every frame's payload in the log directory, as its JSON lines parsed. */
function frameLines(walDir: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const name of fs.readdirSync(walDir).sort()) {
    const data = fs.readFileSync(path.join(walDir, name));
    for (let at = 0; at + FRAME_HEADER_BYTES <= data.length; ) {
      const length = data.readUInt32LE(at);
      const payload = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
      for (const line of payload.toString('utf8').split('\n')) lines.push(JSON.parse(line));
      at += FRAME_HEADER_BYTES + length;
    }
  }
  return lines;
}

test('a record holds its lines byte for byte, ASCII or not, a duplicate left out', async () => {
  t = await makeTestApp();
  const texts = ['plain', 'café', '日本語', '😀 emoji', 'a\u2028b', 'tab\tand "quotes"'];
  const events = texts.map((text, i) =>
    makeEvent({ event_id: `e${i}`, timestamp: T0, path: `/${text}`, properties: { text } }),
  );
  // A duplicate between two fresh events: its line is not in the record.
  const first = await t.engine.ingestor.ingest([events[2] as BaseEvent]);
  expect(first.kind).toBe('ok');
  const outcome = await t.engine.ingestor.ingest(events);
  expect(outcome.kind).toBe('ok');
  const order = [2, 0, 1, 3, 4, 5];
  const logged = frameLines(path.join(t.dataDir, 'wal'));
  expect(logged.map((e) => e.event_id)).toEqual(order.map((i) => `e${i}`));
  expect(logged.map((e) => (e.properties as { text: string }).text)).toEqual(
    order.map((i) => texts[i] as string),
  );
  expect(logged.map((e) => e.path)).toEqual(order.map((i) => `/${texts[i]}`));
});
