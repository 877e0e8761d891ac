// Whether the data directory can take writes: it exists, is writable, and has free space. The
// reason never names the directory: it reaches unauthenticated clients in 503 answers.

import * as fs from 'node:fs';

export type DiskStatus = { ok: true; freeBytes: number } | { ok: false; reason: string };

export function checkDisk(dir: string, freeBytesMin: number): DiskStatus {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    return { ok: false, reason: `the data directory is not writable (${errorCode(error)})` };
  }
  const stat = fs.statfsSync(dir);
  const freeBytes = stat.bavail * stat.bsize;
  if (freeBytes < freeBytesMin) {
    return {
      ok: false,
      reason:
        `only ${freeBytes} bytes free in the data directory; ` +
        `at least ${freeBytesMin} are required (DISK_FREE_BYTES_MIN)`,
    };
  }
  return { ok: true, freeBytes };
}

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error ? String(error.code) : String(error);
}
