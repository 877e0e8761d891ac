// The limits of the storage layer that are not tunable: plain constants, units last in each
// name, with their relations asserted at load time.

import { assert } from '../core/index.ts';

/** The longest name a directory entry may have on the file systems Tally runs on (NAME_MAX). */
const FILE_NAME_BYTES_MAX = 255;

export const storageLimits = {
  /**
   * A tenant's segment directory name at most. Escaped, a valid 128-character tenant id can
   * take 384 bytes (`:` becomes `%3A`); a longer name is shortened to a prefix and a hash.
   */
  tenantDirBytesMax: 128,
  /** Hex digits of the tenant id's SHA-256 in a shortened directory name (128 bits). */
  tenantDirHashHexChars: 32,
  /** Flushes failed in a row after which `/ready` says the node is not ready (flusher.ts). */
  flushFailuresNotReadyMin: 3,
} as const;

assert(
  storageLimits.tenantDirBytesMax <= FILE_NAME_BYTES_MAX,
  'a tenant directory name fits a file name',
);
assert(
  storageLimits.tenantDirHashHexChars <= 64 &&
    storageLimits.tenantDirHashHexChars + 'tenant=+'.length < storageLimits.tenantDirBytesMax,
  'a shortened tenant directory name holds the hash and some of the id',
);
