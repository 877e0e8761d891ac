// A mark of what a data directory holds: the log's last seq and files (a digest of their names
// and sizes), the catalog's watermark, its segments (how many, the highest id, a digest of
// every id and file) and its tenant deletions (a digest of the tombstones). A file derived from
// the store at one moment (the dedup index's snapshot) keeps the mark, so a later start can tell
// whether the store is still exactly as it was then: any commit, flush, compaction or deletion
// since changes the mark, as does a log file removed or put back from a backup.

import type { Catalog } from './catalog.ts';

export interface StoreMark {
  lastSeq: number;
  /**
   * SHA-256 (hex) of every log file's name and size, in name order: a file removed or replaced
   * below the newest one leaves the last seq as it was.
   */
  logFilesDigest: string;
  flushedThroughSeq: number;
  segments: number;
  segmentsMaxId: number;
  /** SHA-256 (hex) of every segment's id and file, in id order. */
  segmentsDigest: string;
  /** SHA-256 (hex) of every tombstone's tenant, seq and time, in tenant order. */
  tombstonesDigest: string;
}

export function storeMarkOf(
  catalog: Catalog,
  lastSeq: number,
  /** null when they cannot be listed: the mark then matches no later one. */
  logFiles: readonly { name: string; bytes: number }[] | null,
): StoreMark {
  const logHash = new Bun.CryptoHasher('sha256');
  for (const f of logFiles ?? []) logHash.update(`${f.name} ${f.bytes}\n`);
  const segments = catalog.allSegments();
  const segmentsHash = new Bun.CryptoHasher('sha256');
  // Ids are integers and files hold no newline: "id file\n" lines cannot run into each other.
  for (const s of segments) segmentsHash.update(`${s.id} ${s.file}\n`);
  const tombstonesHash = new Bun.CryptoHasher('sha256');
  for (const t of catalog.tombstoneRows()) {
    tombstonesHash.update(`${JSON.stringify(t.tenant)} ${t.throughSeq} ${t.deletedAt}\n`);
  }
  return {
    lastSeq,
    logFilesDigest: logFiles === null ? '' : logHash.digest('hex'),
    flushedThroughSeq: catalog.flushedThroughSeq(),
    segments: segments.length,
    segmentsMaxId: segments.reduce((max, s) => Math.max(max, s.id), 0),
    segmentsDigest: segmentsHash.digest('hex'),
    tombstonesDigest: tombstonesHash.digest('hex'),
  };
}

/** How the store changed between the marks `then` and `now`, or null when it did not. */
export function markChange(then: StoreMark, now: StoreMark): string | null {
  // First: a deletion also closes the log file holding its records (and drops segments), and
  // is the change to name.
  if (then.tombstonesDigest !== now.tombstonesDigest) {
    return 'a project was deleted since';
  }
  if (then.lastSeq !== now.lastSeq) {
    return `the log's last seq is ${now.lastSeq}, not ${then.lastSeq}`;
  }
  // Before the files: a flush also deletes log files, and may close one (see EventStore).
  if (then.flushedThroughSeq !== now.flushedThroughSeq) {
    return `the log is flushed through seq ${now.flushedThroughSeq}, not ${then.flushedThroughSeq}`;
  }
  if (then.logFilesDigest !== now.logFilesDigest) {
    return "the log's files are not those it had (one was removed, added or replaced)";
  }
  const { segments, segmentsMaxId } = now;
  if (
    then.segments !== segments ||
    then.segmentsMaxId !== segmentsMaxId ||
    then.segmentsDigest !== now.segmentsDigest
  ) {
    return (
      `the catalog lists other segments (${segments}, highest id ${segmentsMaxId}; ` +
      `then ${then.segments}, highest id ${then.segmentsMaxId})`
    );
  }
  return null;
}
