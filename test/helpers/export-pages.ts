// Page bounds for exportEventPages in tests: pages of a few events, their bytes unbounded.

import type { PageBounds } from '../../src/query/index.ts';

export function rowsOnly(rows: number): PageBounds {
  return { rows, bytes: Number.MAX_SAFE_INTEGER };
}
