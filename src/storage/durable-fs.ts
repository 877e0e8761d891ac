// fsync of files and directories: what makes a write, a new directory entry or a rename
// survive a power loss. The log, the segment files and the data directory's own layout rely
// on it.

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * fsyncs a file, or a directory so that a file created or removed in it survives a power loss.
 */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * fsyncPath on one of Bun's I/O threads: for steps that run beside requests (publishing a
 * segment), whose event loop must not wait out a disk flush.
 */
export async function fsyncPathAsync(target: string): Promise<void> {
  const handle = await fs.promises.open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` whose new directories survive a power loss: each one created is fsynced in its
 * parent, or a file made durable in it (a log file, a segment) could vanish with it. `mode`
 * (before the umask) is that of each directory created; one already there keeps its own.
 */
export function makeDirsDurably(dir: string, mode = 0o777): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return; // all there already
  for (let created = dir; ; created = path.dirname(created)) {
    fsyncPath(path.dirname(created));
    if (created === first) return;
  }
}

/** makeDirsDurably with its fsyncs on I/O threads (see fsyncPathAsync). */
export async function makeDirsDurablyAsync(dir: string): Promise<void> {
  const first = await fs.promises.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let created = dir; ; created = path.dirname(created)) {
    await fsyncPathAsync(path.dirname(created));
    if (created === first) return;
  }
}
