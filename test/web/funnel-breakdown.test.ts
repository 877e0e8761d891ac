// web/funnel-breakdown.ts: how the funnel panel names each entry of a breakdown.

import { describe, expect, test } from 'bun:test';
import { breakdownLabel } from '../../web/funnel-breakdown.ts';

const entry = (value: string | null, other = false, folded?: number) => ({
  value,
  other,
  ...(folded === undefined ? {} : { folded_values: folded }),
});

describe('breakdownLabel', () => {
  test('a value as it is, no value as (none), the folded values with their number', () => {
    expect(breakdownLabel(entry('Chrome'))).toBe('Chrome');
    expect(breakdownLabel(entry(null))).toBe('(none)');
    expect(breakdownLabel(entry(null, true, 3))).toBe('Other (3 values)');
    // 26 values: one folded.
    expect(breakdownLabel(entry(null, true, 1))).toBe('Other (1 value)');
  });
});
