// The largest live message (liveMessageBytesMax) against rendered snapshots at every limit, and
// LIVE_WS_BUFFERED_BYTES_MAX held to it: a setting at its minimum never closes a reader that
// has only its first snapshot queued.

import { describe, expect, test } from 'bun:test';
import { loadConfig } from '../../src/config.ts';
import { eventLimits, InvariantError, snapshotLimits } from '../../src/core/index.ts';
import { OTHER_NAME, type RollupSnapshot } from '../../src/engine/index.ts';
import {
  checkLiveLimits,
  defaultLiveLimits,
  liveMessageBytesMax,
  renderSnapshotContent,
  snapshotMessage,
} from '../../src/live/index.ts';
import { FakeSocket, HubBench, snapshots } from './hub-fakes.ts';

const MESSAGE_MAX = liveMessageBytesMax(defaultLiveLimits);
/** The longest JSON number a double gives. */
const LONGEST_NUMBER = -2.2250738585072014e-308;
/** Counts shown must be over 0: the longest such. */
const LONGEST_COUNT = 2.2250738585072014e-308;
/** Control characters JSON writes as `\uXXXX` (6 bytes), not `\n` and the like. */
const SIX_BYTE_CHARS = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).filter(
  (c) => JSON.stringify(c).length === 8,
);

/** `count` distinct texts of `chars` characters, each written at 6 bytes a character. */
function longestTexts(count: number, chars: number): string[] {
  const n = SIX_BYTE_CHARS.length;
  return Array.from(
    { length: count },
    (_, i) =>
      (SIX_BYTE_CHARS[i % n] as string).repeat(chars - 1) +
      (SIX_BYTE_CHARS[Math.floor(i / n)] as string),
  );
}

const counts = (v: number) => ({ '1m': v, '5m': v, '1h': v, '24h': v, perSecond: v });

/** A snapshot with `names` (partial, OTHER_NAME counting) and every list at its longest. */
function largestSnapshot(names: string[]): RollupSnapshot {
  const paths = longestTexts(snapshotLimits.topPathsShownMax, snapshotLimits.pathCharsShownMax);
  const window = {
    events: LONGEST_NUMBER,
    uniques: LONGEST_NUMBER,
    top_paths: paths.map((path) => ({ path, views: LONGEST_NUMBER })),
  };
  const ids = longestTexts(names.length, eventLimits.eventIdCharsMax);
  return {
    windows: { '1m': window, '5m': window, '1h': window, '24h': window },
    names: [
      { name: OTHER_NAME, partial: false, ...counts(1) },
      ...names.map((name) => ({ name, partial: true, ...counts(LONGEST_COUNT) })),
    ],
    events_per_second: LONGEST_NUMBER,
    latest_metrics: names.map((name, i) => ({
      name,
      value: LONGEST_NUMBER,
      timestamp: LONGEST_NUMBER,
      event_id: ids[i] as string,
    })),
  };
}

const tenant = 'x'.repeat(eventLimits.tenantCharsMax);
const bytes = (content: string) => Buffer.byteLength(snapshotMessage(Date.now(), content));

/** A filter of 100 names at 6 bytes a character, as long as a client message allows. */
function largestFilter(): string[] {
  const { subscribeNamesMax, clientMessageBytesMax } = defaultLiveLimits;
  for (let chars = eventLimits.nameCharsMax; chars > 0; chars--) {
    const names = longestTexts(subscribeNamesMax, chars).sort();
    const request = JSON.stringify({ type: 'subscribe', names });
    if (Buffer.byteLength(request) <= clientMessageBytesMax) return names;
  }
  throw new Error('no filter fits');
}

describe('the largest live message', () => {
  test('an unfiltered snapshot with every list at its longest fits liveMessageBytesMax, closely', () => {
    const { namesShownMax } = defaultLiveLimits;
    const names = longestTexts(namesShownMax, eventLimits.nameCharsMax);
    const content = renderSnapshotContent(tenant, largestSnapshot(names), null, namesShownMax);
    expect(bytes(content)).toBeLessThanOrEqual(MESSAGE_MAX);
    // A bound, not a guess: the rendered message is within 3 % of it.
    expect(bytes(content)).toBeGreaterThan(0.97 * MESSAGE_MAX);
    const wide = { ...defaultLiveLimits, namesShownMax: 600 };
    const many = longestTexts(600, eventLimits.nameCharsMax);
    const all = renderSnapshotContent(tenant, largestSnapshot(many), null, 600);
    expect(bytes(all)).toBeGreaterThan(MESSAGE_MAX);
    expect(bytes(all)).toBeLessThanOrEqual(liveMessageBytesMax(wide));
  });

  test('so is one for the largest filter a client can send, each name in every list', () => {
    const names = largestFilter();
    const content = renderSnapshotContent(tenant, largestSnapshot(names), names, 50);
    expect(bytes(content)).toBeLessThanOrEqual(MESSAGE_MAX);
    // The filtered part of the bound is close too (its unfiltered part made as small as can be).
    const filteredMax = liveMessageBytesMax({ ...defaultLiveLimits, namesShownMax: 1 });
    expect(bytes(content)).toBeLessThanOrEqual(filteredMax);
    expect(bytes(content)).toBeGreaterThan(0.97 * filteredMax);
    // ASCII names at their longest (the ~80 KB the review measured) are well within.
    const ascii = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(eventLimits.nameCharsMax));
    const plain = renderSnapshotContent(tenant, largestSnapshot(ascii), ascii, 50);
    expect(bytes(plain)).toBeLessThan(MESSAGE_MAX);
  });
});

describe('LIVE_WS_BUFFERED_BYTES_MAX holds one whole message', () => {
  test('its minimum is the largest message; below it the setting is refused, saying why', () => {
    // It was 64 KiB: a filtered snapshot takes ~80 KB, up to 294 KiB at the limits.
    expect(MESSAGE_MAX).toBe(294 * 1024);
    const min = String(MESSAGE_MAX);
    expect(loadConfig({ LIVE_WS_BUFFERED_BYTES_MAX: min }).live.wsBufferedBytesMax).toBe(
      MESSAGE_MAX,
    );
    expect(() => loadConfig({ LIVE_WS_BUFFERED_BYTES_MAX: '65536' })).toThrow(
      'LIVE_WS_BUFFERED_BYTES_MAX="65536": must be a size from 294 KiB to 16777215 bytes: a ' +
        'number of bytes, or with a unit (KiB, MiB, GiB, TiB, PiB), like 512MiB: at least the largest message a live socket is sent (a snapshot with a names filter ' +
        'at its limits), so that one whole message never makes a reader a slow consumer',
    );
    const below = { ...defaultLiveLimits, wsBufferedBytesMax: MESSAGE_MAX - 1 };
    expect(() => checkLiveLimits(below)).toThrow(InvariantError);
  });

  test('at the minimum, a reader with its whole first (largest) snapshot queued stays open', async () => {
    const bench = new HubBench();
    const hub = bench.makeHub({
      wsBufferedBytesMax: loadConfig({ LIVE_WS_BUFFERED_BYTES_MAX: String(MESSAGE_MAX) }).live
        .wsBufferedBytesMax,
    });
    const names = longestTexts(defaultLiveLimits.namesShownMax, eventLimits.nameCharsMax);
    const paths = longestTexts(snapshotLimits.topPathsShownMax, snapshotLimits.pathCharsShownMax);
    for (const [i, name] of names.entries()) {
      bench.ingest('acme', name, paths[i % paths.length] as string, LONGEST_NUMBER);
    }
    // A reader on a real network: nothing it was sent has left the server's buffer yet.
    class UnreadSocket extends FakeSocket {
      override send(data: string): number {
        this.buffered += Buffer.byteLength(data);
        super.send(data);
        return -1;
      }
    }
    const reader = new UnreadSocket();
    expect(hub.open(reader, 'acme', bench.publisher)).toBe(true);
    await hub.receive(reader, { type: 'subscribe' });
    expect(snapshots(reader)).toHaveLength(1);
    expect(reader.buffered).toBeGreaterThan(128 * 1024); // over the old minimum (64 KiB), twice
    expect(reader.closed).toBeNull();
    expect(hub.stats()).toMatchObject({ connections: 1, slowConsumersClosed: 0 });
    hub.stop();
  });
});
