// Writes that keep the event loop free: the bytes go out on Bun's file I/O threads, so a slow
// disk delays the requests waiting for that write, not every other request.

import * as fs from 'node:fs';

/** Writes every byte of `parts` at the file's current offset (one writev, more if short). */
export async function writeFully(fd: number, parts: readonly Uint8Array[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const written = await writev(fd, rest);
    rest = remainderOf(rest, written);
  }
}

function writev(fd: number, parts: readonly Uint8Array[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, parts as Uint8Array[], (error, written) =>
      error ? reject(error) : resolve(written),
    );
  });
}

/** The parts left after the first `written` bytes (a short write is rare on files). */
export function remainderOf(parts: readonly Uint8Array[], written: number): readonly Uint8Array[] {
  let skip = written;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Uint8Array;
    if (skip < part.length) return [part.subarray(skip), ...parts.slice(i + 1)];
    skip -= part.length;
  }
  return [];
}
