// Why a start stops for a reason the operator must fix: a StartError is a message and exit 2
// (main.ts), not a trace. A data directory that cannot be used (permissions, a full disk, a
// tally.sqlite that is not a database, a store found damaged) becomes one here.

import { isUnusableStore, lowSpaceNote } from './storage/index.ts';

/**
 * Errors of a data directory the process cannot use: permissions, missing, read-only, a file
 * where the directory should be (EEXIST from mkdir) or a directory where a file should be
 * (EISDIR), a full disk or quota.
 */
const DATA_DIR_ERRORS = new Set(
  'EACCES EPERM ENOENT ENOTDIR EISDIR EROFS EEXIST ENOSPC EDQUOT'.split(' '),
);
/**
 * SQLite's codes for a tally.sqlite it cannot use: a full disk (SQLITE_FULL, or an extended
 * SQLITE_IOERR such as SQLITE_IOERR_SHMSIZE for its shared-memory file), a file that is not a
 * database or is damaged, one it cannot open or write.
 */
const SQLITE_FILE_ERRORS = /^SQLITE_(FULL|IOERR|NOTADB|CORRUPT|CANTOPEN|READONLY)/;

/** A start that cannot go on for a reason the operator must fix: a message and exit 2. */
export class StartError extends Error {
  override name = 'StartError';
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/**
 * The StartError of a server that cannot listen on HOST and PORT, naming the address as a URL
 * writes it: an IPv6 host in brackets (`[::1]:8080`), else `::1:8080` reads as an address
 * with no port.
 */
export function listenError(host: string, port: number, error: unknown): StartError {
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const code = (error as { code?: unknown } | null)?.code;
  const hint = typeof code === 'string' ? LISTEN_HINTS[code] : undefined;
  const why = `${firstLine(error)}${hint === undefined ? '' : ` (${hint})`}`;
  return new StartError(`cannot listen on ${address}:${port}: ${why}`);
}

/**
 * The setting to change, by the listen error's code: Bun's own words name neither (`EINVAL:
 * invalid argument, listen` is a HOST name that resolves to no address).
 */
const NO_SUCH_HOST = 'HOST must be an address of this machine, or a name that resolves to one';
const LISTEN_HINTS: Record<string, string> = {
  EINVAL: NO_SUCH_HOST,
  EADDRNOTAVAIL: NO_SUCH_HOST,
  EACCES:
    'a PORT under 1024 takes a privilege this user lacks: choose a higher one, or put a proxy ' +
    'in front',
  EADDRINUSE: 'another process listens on this PORT',
};

/**
 * A data directory that cannot be used is a message (StartError), not a trace; other errors
 * are returned as they are. `diskFreeBytesMin`: DISK_FREE_BYTES_MIN, named when space is low.
 */
export function startErrorOf(error: unknown, dataDir: string, diskFreeBytesMin: number): unknown {
  const code = (error as { code?: unknown }).code;
  const at = `cannot use DATA_DIR ${dataDir}`;
  if (isUnusableStore(error)) return new StartError(`${at}: ${error.message}`);
  if (typeof code !== 'string') return error;
  const low = lowSpaceNote(dataDir, diskFreeBytesMin);
  if (DATA_DIR_ERRORS.has(code)) return new StartError(`${at}: ${firstLine(error)}${low}`);
  if (SQLITE_FILE_ERRORS.test(code)) {
    return new StartError(`${at}: tally.sqlite: ${firstLine(error)} (${code})${low}`);
  }
  return error;
}
