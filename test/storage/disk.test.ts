// Whether the data directory's free space can take writes: below DISK_FREE_BYTES_MIN it
// cannot, and a full disk never can, even with the margin turned off (0).

import { describe, expect, test } from 'bun:test';
import { lackOfSpace } from '../../src/storage/disk.ts';

describe('lackOfSpace', () => {
  test('enough room is no reason; below the minimum names both numbers and the setting', () => {
    expect(lackOfSpace(512, 256)).toBeNull();
    expect(lackOfSpace(256, 256)).toBeNull();
    expect(lackOfSpace(100, 256)).toBe(
      'only 100 bytes free in the data directory; at least 256 are required (DISK_FREE_BYTES_MIN)',
    );
  });

  test('a full disk cannot take writes even with DISK_FREE_BYTES_MIN=0', () => {
    expect(lackOfSpace(0, 0)).toBe("the data directory's disk is full (0 bytes free)");
    expect(lackOfSpace(0, 256)).toBe("the data directory's disk is full (0 bytes free)");
    expect(lackOfSpace(1, 0)).toBeNull();
  });
});
