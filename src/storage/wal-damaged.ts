// The copies of damaged log bytes that opening the log keeps (`<file>.damaged-<offset>`, see
// cutTail in wal-replay.ts) as an erasure or a tenant's deletion sees them: they may hold the
// erased person's or the deleted tenant's records, so each copy holding one is rewritten
// without them (step 3 of person-eraser.ts, the last step of tenant-eraser.ts); each retention
// pass cuts the events of the days it deletes (retention-eraser.ts). A copy's
// records are found as opening counted them (a valid frame at any offset, seqs rising); every
// other byte of it (the damage itself, which may hold acknowledged events to recover by hand)
// is kept as it is. Where those bytes hold the person's id or the tenant's name, no record can
// be cut from them: the cut says which copies the operator must recover by hand and delete.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { utcDay } from '../core/index.ts';
import { fsyncPathAsync } from './durable-fs.ts';
import { withoutErased } from './erasure-filter.ts';
import type { ErasureMatch } from './erasure-log.ts';
import type { FaultHook } from './faults.ts';
import { type FoundFrame, frameHeader, framesFrom } from './wal-frame.ts';

const COPY_PATTERN = /^\d{10}\.wal\.damaged-\d+(-\d+)?$/;
/** A copy being rewritten (a crash may leave it: the copy itself is still whole then). */
const TEMP_SUFFIX = '.erasing';

/**
 * What a cut takes from the copies. An erasure's person: their events of the tenant in every
 * record, whatever its seq (the log numbered its records again from a start's cut, so a copy's
 * seqs say nothing of when they were sent against the erasure). A deleted tenant's records:
 * every one in `copies` (the copies there were when the deletion was decided: a start made
 * them, so each record in them was sent before it; one gone since a start is forgotten then, see
 * forgetGoneCopies, as a later copy may take its name), and in a copy a later start kept, those at
 * or below `throughSeq` (the log numbers every record sent after the deletion above it: the
 * seq the deletion was decided at, or the flushed watermark that passed it).
 */
export type DamagedCut =
  | { kind: 'person'; match: ErasureMatch }
  | { kind: 'tenant'; tenant: string; throughSeq: number; copies: readonly string[] }
  | RetentionCut;

/**
 * Retention's: each tenant's events of the UTC days before the day `keptFrom` names for it
 * (null: it keeps all), whatever the record's seq. Damage is never reported for it: bytes that
 * are no record say nothing of the days of the events they held.
 */
export interface RetentionCut {
  kind: 'retention';
  keptFrom: (tenant: string) => string | null;
}

/** The record in `frame` without what the cut takes: as withoutErased answers. */
type RecordCut = ReturnType<typeof withoutErased>;

/** The copies of damaged log bytes in the log's directory, and their rewriting. */
export class DamagedCopies {
  /** The end of the last cut started: one runs at a time (see `cut`). */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The copies a cut found nothing more to cut from but their damage holding its needle, by
   * cut and copy, with the copy's file as it was then (see `fileKeyOf`). An erasure waiting
   * for the operator tries again after each flush: such a copy is read and parsed again only
   * once its file changed (a 64 MiB copy costs about a second of CPU each time).
   */
  private readonly blocked = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly fault: FaultHook,
  ) {}

  /** The copies there are now, by file name. */
  names(): string[] {
    return copiesAmong(fs.readdirSync(this.dir));
  }

  /**
   * Cuts `what` from the records of every copy, each copy rewritten durably (temp file, fsync,
   * rename, directory fsync). Resolves to the copies (as `wal/<name>`) whose bytes that are no
   * record hold the person's id or the tenant's name, as the log writes them (a JSON string;
   * `"tenant":"<name>"`): nothing can be cut from those bytes. One cut runs at a time: an
   * erasure's and a deletion's may meet, and each rewrites a copy from what it read.
   */
  cut(what: DamagedCut): Promise<string[]> {
    const run = this.queue.then(() => this.cutNow(what));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async cutNow(what: DamagedCut): Promise<string[]> {
    const names = fs.readdirSync(this.dir);
    // A rewrite a crash cut short: its copy is still whole, and it is not looked at again.
    const temps = names.filter(
      (n) => n.endsWith(TEMP_SUFFIX) && COPY_PATTERN.test(n.slice(0, -TEMP_SUFFIX.length)),
    );
    for (const temp of temps) await fs.promises.rm(path.join(this.dir, temp), { force: true });
    if (temps.length > 0) await fsyncPathAsync(this.dir);
    const needle = Buffer.from(needleOf(what), 'utf8');
    const unreadable: string[] = [];
    for (const name of copiesAmong(names)) {
      const file = path.join(this.dir, name);
      const shown = `${path.basename(this.dir)}/${name}`;
      const cutKey = JSON.stringify([name, cutKeyOf(what, name)]);
      const fileKey = await fileKeyOf(file);
      if (this.blocked.get(cutKey) === fileKey) {
        unreadable.push(shown);
        continue;
      }
      this.blocked.delete(cutKey);
      const data = await fs.promises.readFile(file);
      if (!data.includes(needle)) continue; // no record of theirs, nor their id at all
      const { parts, erased, idInDamage } = cutCopy(data, recordCutOf(what, name), needle);
      const reported = idInDamage && what.kind !== 'retention';
      if (reported) unreadable.push(shown);
      if (erased > 0) await this.replaceDurably(file, Buffer.concat(parts));
      else if (reported) this.blocked.set(cutKey, fileKey);
    }
    return unreadable;
  }

  /** Replaces `file` with `bytes` so that a crash leaves one or the other, whole. */
  private async replaceDurably(file: string, bytes: Buffer): Promise<void> {
    const temp = `${file}${TEMP_SUFFIX}`;
    const handle = await fs.promises.open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.fault('copies:after-write');
    await fs.promises.rename(temp, file);
    await fsyncPathAsync(path.dirname(file));
    this.fault('copies:after-rename');
  }
}

/** A copy's file as it is now: another file, or the same one written since, differs. */
async function fileKeyOf(file: string): Promise<string> {
  const stat = await fs.promises.stat(file, { bigint: true });
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/** What decides how `what` cuts copy `name` (an erasure's id and status do not). */
function cutKeyOf(what: DamagedCut, name: string): unknown[] {
  if (what.kind === 'person')
    return ['person', what.match.tenant, what.match.field, what.match.value];
  if (what.kind === 'retention') return ['retention']; // never blocked: see RetentionCut
  return ['tenant', what.tenant, what.throughSeq, what.copies.includes(name)];
}

/** The names of copies among a directory's `names`, in order. */
function copiesAmong(names: readonly string[]): string[] {
  return names.filter((n) => COPY_PATTERN.test(n)).sort();
}

/**
 * Why a cut could not be done: the copies whose damage holds `held` (the person's id, the
 * project's name), and what the operator does about it.
 */
export function unreadableCopiesMessage(copies: readonly string[], held: string): string {
  return (
    `the damaged log bytes kept in ${copies.join(', ')} (cut from the log at a start) hold ` +
    `${held} where they cannot be read as records, so they cannot be erased from them: ` +
    'recover what you need from those files by hand, then delete them (or move them out of ' +
    'the data directory)'
  );
}

/** The bytes a copy holds wherever it holds what `what` takes, as the log writes them. */
function needleOf(what: DamagedCut): string {
  if (what.kind === 'person') return JSON.stringify(what.match.value);
  if (what.kind === 'retention') return '"tenant":'; // every record's
  return `"tenant":${JSON.stringify(what.tenant)}`;
}

/** How `what` cuts a record of copy `name`, given the record's tenant. */
function recordCutOf(what: DamagedCut, name: string) {
  if (what.kind === 'person') {
    const everySeq = [{ ...what.match, throughSeq: Number.POSITIVE_INFINITY }];
    return (frame: FoundFrame, tenant: string) =>
      withoutErased(frame.payload, tenant, frame.seq, everySeq);
  }
  if (what.kind === 'retention') {
    return (frame: FoundFrame, tenant: string) => withoutPastRetention(frame, tenant, what);
  }
  const throughSeq = what.copies.includes(name) ? Number.POSITIVE_INFINITY : what.throughSeq;
  return (frame: FoundFrame, tenant: string): RecordCut => {
    if (tenant !== what.tenant || frame.seq > throughSeq) return null;
    const events = Buffer.from(frame.payload).toString('utf8').split('\n').length;
    return { payload: Buffer.alloc(0), events: 0, erased: events };
  };
}

/** The record in `frame` (of `tenant`) without its events of days `cut` deletes. */
function withoutPastRetention(frame: FoundFrame, tenant: string, cut: RetentionCut): RecordCut {
  const keptFrom = cut.keptFrom(tenant);
  if (keptFrom === null) return null;
  const lines = Buffer.from(frame.payload).toString('utf8').split('\n');
  const kept = lines.filter((line) => {
    const { timestamp } = JSON.parse(line) as { timestamp?: unknown };
    return typeof timestamp !== 'number' || utcDay(timestamp) >= keptFrom;
  });
  const payload = Buffer.from(kept.join('\n'), 'utf8');
  return { payload, events: kept.length, erased: lines.length - kept.length };
}

/**
 * `data` (a copy) as parts to write: its bytes with what `cutOf` takes cut from its records,
 * the events cut, and whether its other bytes (the damage) hold `needle`.
 */
function cutCopy(
  data: Buffer,
  cutOf: (frame: FoundFrame, tenant: string) => RecordCut,
  needle: Buffer,
): { parts: Uint8Array[]; erased: number; idInDamage: boolean } {
  const parts: Uint8Array[] = [];
  let erased = 0;
  let idInDamage = false;
  let kept = 0; // the offset up to which `parts` holds `data`
  let damageFrom = 0; // where the bytes that are no record began
  const damageUntil = (end: number) => {
    idInDamage ||= data.subarray(damageFrom, end).includes(needle);
  };
  for (const frame of framesFrom(data, 0, 1)) {
    const cut = cutRecord(frame, cutOf);
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
 * The record in `frame` as `cutOf` cuts it (null: untouched), or undefined when its payload is
 * not a record (JSON lines of one tenant): a frame found by chance among the damaged bytes.
 */
function cutRecord(
  frame: FoundFrame,
  cutOf: (frame: FoundFrame, tenant: string) => RecordCut,
): RecordCut | undefined {
  try {
    const first = Buffer.from(frame.payload).toString('utf8').split('\n', 1)[0] as string;
    const { tenant } = JSON.parse(first) as { tenant?: unknown };
    return typeof tenant === 'string' ? cutOf(frame, tenant) : undefined;
  } catch {
    return undefined; // not JSON: no record
  }
}
