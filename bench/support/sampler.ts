// Samples a running Tally once a second during the sustained benchmark: its resident memory from
// /proc (read by this process, so it never waits on the server) and `GET /api/v1/status` (the
// write-ahead log backlog, hot memory, the dedup index's keys and bytes), each stamped with seconds
// since the start.

import { rssMiB, type ServerProcess } from './processes.ts';

/** The body of `GET /api/v1/status`. */
export interface Status {
  last_seq: number;
  flushed_through_seq: number;
  hot_bytes: number;
  wal_files: number;
  dedup_keys: number;
  dedup_bytes: number;
  actors: number;
  rss_bytes: number;
}

export interface Sample {
  /** Seconds since sampling started, when the sample was taken. */
  atS: number;
  /** The server's resident memory (VmRSS) at `atS`, MiB. */
  rssMiB: number;
  /** null when the previous status request had not answered yet, or this one failed. */
  status: Status | null;
  /** How long the status request took, ms; NaN when there is no status. */
  statusMs: number;
}

export interface Sampler {
  /** Stops sampling; resolves once the last status request has answered or timed out. */
  stop(): Promise<Sample[]>;
}

/** A status request slower than this is given up; its sample keeps status null. */
const STATUS_TIMEOUT_MS = 5_000;

/**
 * Starts sampling `server` every `intervalMs`, on a fixed schedule from now. At most one status
 * request is in flight: under load a slow answer makes the next ticks record memory only.
 */
export function startSampler(server: ServerProcess, intervalMs: number): Sampler {
  const startedAt = performance.now();
  const samples: Sample[] = [];
  let pending: Promise<void> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticks = 0;
  const tick = () => {
    const sample: Sample = {
      atS: (performance.now() - startedAt) / 1000,
      rssMiB: rssMiB(server.pid),
      status: null,
      statusMs: Number.NaN,
    };
    samples.push(sample);
    if (pending === null) {
      pending = fillStatus(server.url, sample).finally(() => {
        pending = null;
      });
    }
    ticks++;
    timer = setTimeout(tick, Math.max(0, startedAt + ticks * intervalMs - performance.now()));
  };
  tick();
  return {
    stop: async () => {
      if (timer !== null) clearTimeout(timer);
      await pending;
      return samples;
    },
  };
}

async function fillStatus(url: string, sample: Sample): Promise<void> {
  const sentAt = performance.now();
  try {
    const response = await fetch(`${url}/api/v1/status`, {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    if (!response.ok) return;
    sample.status = (await response.json()) as Status;
    sample.statusMs = performance.now() - sentAt;
  } catch {
    // Timed out or the server is gone: the sample keeps its memory reading only.
  }
}
