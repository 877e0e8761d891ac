// Cuts a person's events out of a log record's payload (one tenant's JSON lines): what the hot
// tier does to the unflushed records an erasure covers, when it is accepted and when the log is
// replayed, so that no flush ever writes them to a segment again.

import type { ErasureMatch } from './erasure-log.ts';

export interface FilteredPayload {
  payload: Uint8Array;
  /** Lines kept, and lines cut. */
  events: number;
  erased: number;
}

/**
 * The record `payload` of `tenant` at `seq` without the events that one of `matches` covers
 * (same tenant, seq at or below its throughSeq, the field equal to its value); null when no
 * match applies to it (the payload is then not parsed). `onCut`, if given, is told of each
 * event cut, with the first match covering it.
 */
export function withoutErased<M extends ErasureMatch>(
  payload: Uint8Array,
  tenant: string,
  seq: number,
  matches: readonly M[],
  onCut?: (match: M) => void,
): FilteredPayload | null {
  if (matches.length === 0) return null; // every record while no erasure is pending
  const apply = matches.filter((m) => m.tenant === tenant && seq <= m.throughSeq);
  if (apply.length === 0) return null;
  const lines = Buffer.from(payload).toString('utf8').split('\n');
  const kept = lines.filter((line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    const covering = apply.find((m) => event[m.field] === m.value);
    if (covering !== undefined) onCut?.(covering);
    return covering === undefined;
  });
  return {
    payload: Buffer.from(kept.join('\n'), 'utf8'),
    events: kept.length,
    erased: lines.length - kept.length,
  };
}

/** An erasure the hot tier applies to records still to arrive, told of the events it cuts. */
export interface LateCut extends ErasureMatch {
  onCut: (events: number) => void;
}

/**
 * withoutErased over erasures applied as records arrive: each is told once how many events it
 * cut from the record (an event two of them cover counts for the first).
 */
export function withoutLateCuts(
  payload: Uint8Array,
  tenant: string,
  seq: number,
  cuts: readonly LateCut[],
): FilteredPayload | null {
  if (cuts.length === 0) return null; // every commit while no erasure waits for records
  const counts = new Map<LateCut, number>();
  const count = (m: LateCut) => counts.set(m, (counts.get(m) ?? 0) + 1);
  const cut = withoutErased(payload, tenant, seq, cuts, count);
  for (const [m, events] of counts) m.onCut(events);
  return cut;
}

/** A hot tier's group, as far as an erasure cuts it. */
interface CutGroup {
  tenant: string;
  seq: number;
  events: number;
  payload: Uint8Array;
}

export interface CutGroups<G extends CutGroup> {
  /** The groups left, in order: a group whose every event went is gone. */
  kept: G[];
  /** How many of `kept` were among the first `loadedCount` (in the hot table). */
  loadedKept: number;
  /** Whether a group of the hot table was cut (its rows must be loaded again). */
  loadedCut: boolean;
  erased: number;
  /** Payload bytes the groups hold less. */
  bytesFreed: number;
}

/** `groups` (the first `loadedCount` loaded) without the events `match` covers. */
export function cutGroups<G extends CutGroup>(
  groups: readonly G[],
  loadedCount: number,
  match: ErasureMatch,
): CutGroups<G> {
  const result: CutGroups<G> = {
    kept: [],
    loadedKept: 0,
    loadedCut: false,
    erased: 0,
    bytesFreed: 0,
  };
  groups.forEach((g, i) => {
    const loaded = i < loadedCount;
    const cut = withoutErased(g.payload, g.tenant, g.seq, [match]);
    if (cut === null || cut.erased === 0) {
      result.kept.push(g);
      if (loaded) result.loadedKept++;
      return;
    }
    result.erased += cut.erased;
    result.loadedCut ||= loaded;
    result.bytesFreed += g.payload.length;
    if (cut.events === 0) return;
    result.bytesFreed -= cut.payload.length;
    result.kept.push({ ...g, payload: cut.payload, events: cut.events });
    if (loaded) result.loadedKept++;
  });
  return result;
}
