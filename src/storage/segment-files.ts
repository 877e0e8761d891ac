// Where segment files live and how they appear there atomically: written under a temporary
// name in the staging directory, fsynced, renamed into
// `segments/tenant=<id>/day=<YYYY-MM-DD>/<name>.parquet` (a long id shortened, see
// tenantDirName; new directories fsynced in their parents), and the directory fsynced. At
// start, files the catalog does not know (a crash between rename and catalog, or a deleted
// tenant's), the directories they leave empty and staging leftovers are removed.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../core/index.ts';
import { fsyncPathAsync, makeDirsDurablyAsync } from './durable-fs.ts';
import { storageLimits } from './limits.ts';
import { minuteCountsFile } from './minute-counts.ts';

export function segmentRelativePath(tenant: string, day: string, name: string): string {
  return path.join(tenantDirName(tenant), `day=${day}`, `${name}.parquet`);
}

/**
 * The directory of a tenant's segments: `tenant=` and the id escaped, or, when that would be
 * longer than `tenantDirBytesMax`, the escaped id's start, `+` and a hash of the whole id (a
 * name past the file system's 255 bytes would fail every flush). Escaping turns `+` into
 * `%2B`, so the two forms never meet. Capital letters are escaped too (`Acme` is `%41cme`):
 * on a file system that ignores case (macOS, Windows) ids differing only in case would share
 * a directory, and the sweep at start, comparing the names it lists with the catalog's, would
 * delete the segments of one of them. Nothing reads a tenant back from a directory name:
 * reads, compaction and the sweep at start go by the files the catalog lists.
 */
export function tenantDirName(tenant: string): string {
  const { tenantDirBytesMax, tenantDirHashHexChars } = storageLimits;
  const readable = `${TENANT_DIR_PREFIX}${escapeTenant(tenant)}`;
  // Escaped text is ASCII: its length in characters is its length in bytes.
  if (readable.length <= tenantDirBytesMax) return readable;
  const hash = createHash('sha256').update(tenant).digest('hex').slice(0, tenantDirHashHexChars);
  const room = tenantDirBytesMax - TENANT_DIR_PREFIX.length - 1 - hash.length;
  let start = '';
  for (const char of tenant) {
    const escaped = escapeTenant(char);
    if (start.length + escaped.length > room) break;
    start += escaped;
  }
  return `${TENANT_DIR_PREFIX}${start}+${hash}`;
}

const TENANT_DIR_PREFIX = 'tenant=';

/**
 * `text` URL-escaped, its capital letters as `%XX` too: what is left unescaped is lower-case,
 * and escapes are upper-case hex, so two ids never escape to names equal but for case.
 */
function escapeTenant(text: string): string {
  return encodeURIComponent(text).replace(
    /(%[0-9A-F]{2})|[A-Z]/g,
    (match, escaped: string | undefined) =>
      escaped ?? `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Moves written staging files to their final places (relative to `segmentsDir`, all in one
 * directory: a segment and its minute counts) durably; returns their sizes in bytes. The
 * fsyncs run on I/O threads, the files' at once, and the directory is fsynced once for all.
 */
export async function publishSegments(
  segmentsDir: string,
  moves: readonly { staging: string; relative: string }[],
): Promise<number[]> {
  const targets = moves.map((m) => path.join(segmentsDir, m.relative));
  const dir = path.dirname(targets[0] as string);
  assert(
    targets.every((t) => path.dirname(t) === dir),
    'files published together share a directory',
  );
  await Promise.all(moves.map((m) => fsyncPathAsync(m.staging)));
  await makeDirsDurablyAsync(dir);
  for (const [i, m] of moves.entries()) await moveInto(m.staging, targets[i] as string);
  await fsyncPathAsync(dir);
  return Promise.all(targets.map(async (t) => (await fs.promises.stat(t)).size));
}

/**
 * Renames `from` (a synced staging file) to `to`. Across file systems (EXDEV: `segments/`
 * mounted apart from `staging/`, as linkOrCopy allows) a rename cannot work, and every flush
 * failed: the file is then copied beside `to` under a name ending in `.parquet` that no
 * segment has (so the sweep at start removes it if a crash leaves it there), synced, and
 * renamed within the target's directory, which stays atomic; the staging file goes last.
 */
export async function moveInto(
  from: string,
  to: string,
  rename: (from: string, to: string) => Promise<void> = fs.promises.rename,
): Promise<void> {
  try {
    await rename(from, to);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  const beside = to.replace(/\.parquet$/, `${CROSS_DEVICE_SUFFIX}.parquet`);
  assert(beside !== to, 'a segment file is published under a .parquet name');
  try {
    await fs.promises.copyFile(from, beside);
    await fsyncPathAsync(beside);
    await rename(beside, to);
  } catch (error) {
    await fs.promises.rm(beside, { force: true });
    throw error;
  }
  await fs.promises.rm(from, { force: true });
}

/** What a segment file copied across file systems is called until it is renamed (moveInto). */
const CROSS_DEVICE_SUFFIX = '.copying';

/** The files of a segment (`file`, relative): it and its minute counts, which may not exist. */
export function segmentPaths(segmentsDir: string, file: string): string[] {
  return [path.join(segmentsDir, file), path.join(segmentsDir, minuteCountsFile(file))];
}

/**
 * Retires the files of segments the catalog no longer names (`retire` removes them once no
 * read or merge that listed them is held); why some could not be removed, else null. A failure
 * is not the caller's: no catalog entry names the files, they stay retired, and the start
 * sweeps what is left.
 */
export function retireSegments(
  retire: (files: string[]) => void,
  segmentsDir: string,
  segments: readonly { file: string }[],
): string | null {
  try {
    retire(segments.flatMap((s) => segmentPaths(segmentsDir, s.file)));
    return null;
  } catch (error) {
    return String(error);
  }
}

/** Removes files that may or may not exist (what a failed step wrote), ignoring the absent. */
export function removeQuietly(...files: string[]): void {
  for (const file of files) fs.rmSync(file, { force: true });
}

/** Removes segment files the catalog does not list, and everything in staging. */
export function removeStrayFiles(
  segmentsDir: string,
  stagingDir: string,
  known: ReadonlySet<string>,
): string[] {
  const removed: string[] = [];
  for (const rel of listParquet(segmentsDir, '')) {
    if (known.has(rel)) continue;
    fs.rmSync(path.join(segmentsDir, rel));
    removed.push(rel);
  }
  removeEmptyDirs(segmentsDir, '');
  fs.rmSync(stagingDir, { recursive: true, force: true });
  fs.mkdirSync(stagingDir, { recursive: true });
  return removed;
}

/** Removes the empty directories below `root`/`rel` (not `root` itself); true when it is empty. */
function removeEmptyDirs(root: string, rel: string): boolean {
  const dir = path.join(root, rel);
  if (!fs.existsSync(dir)) return true;
  let empty = true;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(rel, entry.name);
    if (entry.isDirectory() && removeEmptyDirs(root, child)) fs.rmdirSync(path.join(root, child));
    else empty = false;
  }
  return empty;
}

function listParquet(root: string, rel: string): string[] {
  const dir = path.join(root, rel);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const child = path.join(rel, entry.name);
    if (entry.isDirectory()) return listParquet(root, child);
    return entry.name.endsWith('.parquet') ? [child] : [];
  });
}

/**
 * A hard link (segments and staging share the data directory's file system), or a copy when
 * they do not (a segments directory mounted apart).
 */
export function linkOrCopy(file: string, link: string): void {
  try {
    fs.linkSync(file, link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    fs.copyFileSync(file, link);
  }
}
