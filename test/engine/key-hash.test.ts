import { describe, expect, test } from 'bun:test';
import { hashKey, KEY_HASH_LANES } from '../../src/engine/key-hash.ts';

function hex(key: string, seed: number): string {
  const out = new Int32Array(KEY_HASH_LANES);
  hashKey(key, seed, out);
  return [...out].map((lane) => (lane >>> 0).toString(16).padStart(8, '0')).join('');
}

/** Colliding neighbours once sorted: how many values repeat an earlier one. */
function repeats(sorted: ArrayLike<number | bigint>): number {
  let count = 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) count++;
  return count;
}

describe('hashKey', () => {
  test('is MurmurHash3_x86_128 of the UTF-16LE bytes', () => {
    // Expected values from the reference algorithm (murmurhash3js-revisited, which matches
    // aappleby/smhasher) over Buffer.from(key, 'utf16le'); they cover every tail length.
    expect(hex('', 0)).toBe('00000000000000000000000000000000');
    expect(hex('', 1)).toBe('88c4adec54d201b954d201b954d201b9');
    expect(hex('hello', 0)).toBe('498e49896c081b4802cf3f742cf72941');
    expect(hex('acme\u0000018f2c1e-7b7a-7cc1-9a2b-3c4d5e6f7a8b', 0x9747b28c)).toBe(
      'e45ea109bf837656dffe1fbd9221494f',
    );
    expect(hex('héllo wörld ✓ 😀', 42)).toBe('89e02ddd06d78bcf13e8892d1deb2ab6');
  });

  test('depends on the seed, on every code unit and on the length', () => {
    const seen = new Set<string>();
    for (const key of ['a', 'b', 'a\u0000', '\u0000a', 'ab', 'ba', 'a'.repeat(8), 'a'.repeat(9)])
      for (const seed of [0, 1, 0xffffffff]) seen.add(hex(key, seed));
    expect(seen.size).toBe(8 * 3);
  });

  test('four million similar keys: no 64-bit collision, 32-bit lanes collide at random', () => {
    const n = 2 ** 22;
    const lanes = [0, 1, 2, 3].map(() => new Uint32Array(n));
    const halves = [new BigUint64Array(n), new BigUint64Array(n)];
    const out = new Int32Array(KEY_HASH_LANES);
    const words = new Uint32Array(new BigUint64Array(2).buffer);
    const pair = new BigUint64Array(words.buffer);
    for (let i = 0; i < n; i++) {
      hashKey(`tenant_${i % 16}\u0000evt-${i.toString(36).padStart(8, '0')}`, 7, out);
      words.set(out);
      for (let lane = 0; lane < KEY_HASH_LANES; lane++)
        (lanes[lane] as Uint32Array)[i] = out[lane] as number;
      (halves[0] as BigUint64Array)[i] = pair[0] as bigint;
      (halves[1] as BigUint64Array)[i] = pair[1] as bigint;
    }
    // Two 64-bit halves collide among 2^22 keys with probability ~2^44/2^65 = 5e-7.
    for (const half of halves) expect(repeats(half.sort())).toBe(0);
    // A random 32-bit function gives n²/2^33 = 2048 colliding pairs (σ ≈ 45) per lane.
    for (const lane of lanes) {
      const count = repeats(lane.sort());
      expect(count).toBeGreaterThan(1800);
      expect(count).toBeLessThan(2300);
    }
  }, 60_000);
});
