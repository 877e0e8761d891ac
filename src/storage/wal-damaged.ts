// The copies of damaged log bytes that opening the log keeps (`<file>.damaged-<offset>`, see
// cutTail in wal-replay.ts) as an erasure sees them: they may hold records of the erased
// person, so the erasure rewrites each copy holding one without them (step 3 of
// person-eraser.ts). A copy's records are found as opening counted them (a valid frame at any
// offset, seqs rising) and each is cut as the hot tier cuts one; every other byte of it (the
// damage itself, which may hold acknowledged events to recover by hand) is kept as it is. Where
// those bytes hold the person's id, no record can be cut from them: the erasure is not done,
// and says which copy the operator must recover by hand and then delete.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncPathAsync } from './durable-fs.ts';
import { withoutErased } from './erasure-filter.ts';
import type { ErasureMatch } from './erasure-log.ts';
import { type FoundFrame, frameHeader, framesFrom } from './wal-frame.ts';

const COPY_PATTERN = /^\d{10}\.wal\.damaged-\d+(-\d+)?$/;
/** A copy being rewritten (a crash may leave it: the copy itself is still whole then). */
const TEMP_SUFFIX = '.erasing';

/**
 * Cuts the events of `match`'s person from the records of every damaged copy in `dir` (the log
 * directory), each copy rewritten durably (temp file, fsync, rename, directory fsync). Every
 * record of the person goes, whatever its seq: the log numbered its records again from the
 * cut, so a copy's seqs say nothing of when they were sent against the erasure. Throws, once
 * every copy is done, when the bytes of one that are no record hold the person's id (as the
 * log writes it, a JSON string), naming the copies and what to do.
 */
export async function eraseFromDamagedCopies(dir: string, match: ErasureMatch): Promise<void> {
  const names = fs.readdirSync(dir);
  // A rewrite a crash cut short: its copy is still whole, and it is not looked at again.
  const temps = names.filter(
    (n) => n.endsWith(TEMP_SUFFIX) && COPY_PATTERN.test(n.slice(0, -TEMP_SUFFIX.length)),
  );
  for (const temp of temps) await fs.promises.rm(path.join(dir, temp), { force: true });
  if (temps.length > 0) await fsyncPathAsync(dir);
  const needle = Buffer.from(JSON.stringify(match.value), 'utf8');
  const unreadable: string[] = [];
  for (const name of names.filter((n) => COPY_PATTERN.test(n)).sort()) {
    const file = path.join(dir, name);
    const data = await fs.promises.readFile(file);
    if (!data.includes(needle)) continue; // no record of the person, nor their id at all
    const { parts, erased, idInDamage } = cutCopy(data, match, needle);
    if (idInDamage) unreadable.push(`${path.basename(dir)}/${name}`);
    if (erased > 0) await replaceDurably(file, Buffer.concat(parts));
  }
  if (unreadable.length === 0) return;
  throw new Error(
    `the damaged log bytes kept in ${unreadable.join(', ')} (cut from the log at a start) hold ` +
      "the person's id where they cannot be read as records, so they cannot be erased from " +
      'them: recover what you need from those files by hand, then delete them (or move them ' +
      'out of the data directory)',
  );
}

/**
 * `data` (a copy) as parts to write: its bytes with the person's events cut from its records,
 * the events cut, and whether its other bytes (the damage) hold `needle` (the person's id).
 */
function cutCopy(
  data: Buffer,
  match: ErasureMatch,
  needle: Buffer,
): { parts: Uint8Array[]; erased: number; idInDamage: boolean } {
  const everySeq = { ...match, throughSeq: Number.POSITIVE_INFINITY };
  const parts: Uint8Array[] = [];
  let erased = 0;
  let idInDamage = false;
  let kept = 0; // the offset up to which `parts` holds `data`
  let damageFrom = 0; // where the bytes that are no record began
  const damageUntil = (end: number) => {
    idInDamage ||= data.subarray(damageFrom, end).includes(needle);
  };
  for (const frame of framesFrom(data, 0, 1)) {
    const cut = cutRecord(frame, everySeq);
    if (cut === undefined) continue; // a chance frame in the damage: damage too
    damageUntil(frame.at);
    damageFrom = frame.next;
    if (cut === null || cut.erased === 0) continue;
    parts.push(data.subarray(kept, frame.at));
    if (cut.events > 0) parts.push(frameHeader(frame.seq, cut.payload), cut.payload);
    kept = frame.next;
    erased += cut.erased;
  }
  damageUntil(data.length);
  parts.push(data.subarray(kept));
  return { parts, erased, idInDamage };
}

/**
 * The record in `frame` without the events `match` covers (null when it is another tenant's),
 * or undefined when its payload is not a record (JSON lines of one tenant): a frame found by
 * chance among the damaged bytes.
 */
function cutRecord(frame: FoundFrame, match: ErasureMatch) {
  try {
    const first = Buffer.from(frame.payload).toString('utf8').split('\n', 1)[0] as string;
    const { tenant } = JSON.parse(first) as { tenant?: unknown };
    if (typeof tenant !== 'string') return undefined;
    return withoutErased(frame.payload, tenant, frame.seq, [match]);
  } catch {
    return undefined; // not JSON: no record
  }
}

/** Replaces `file` with `bytes` so that a crash leaves one or the other, whole. */
async function replaceDurably(file: string, bytes: Buffer): Promise<void> {
  const temp = `${file}${TEMP_SUFFIX}`;
  const handle = await fs.promises.open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  await fsyncPathAsync(path.dirname(file));
}
