// The processes SQL statements of POST /api/v1/query run in (sql-child.ts): one per statement,
// killed when it answers, at the time limit, or once its resident memory passes its limit.
// DuckDB cannot interrupt one function call building a huge value (`list_resize(…, 1e9)`,
// `lpad(…, 2^31)`) nor count such values against its memory limit; in a process of its own
// such a statement costs that process only. One spare process is kept started, so a statement
// does not wait ~0.1–0.2 s for a process to boot.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Subprocess } from 'bun';
import type { SqlJob, SqlJobAnswer } from './sql-job.ts';

const CHILD_ENTRY = path.join(import.meta.dir, 'sql-child.ts');

/** How often a running statement's memory is looked at. */
const MEMORY_POLL_MS = 50;

export interface SqlRunLimits {
  timeoutMs: number;
  /** Resident memory of the statement's process at most. */
  rssBytesMax: number;
  /** Stops the statement when it aborts (the client went away). */
  signal?: AbortSignal;
}

export type SqlOutcome =
  | SqlJobAnswer
  | { ok: false; stopped: 'timeout' | 'memory' | 'exited' | 'busy' | 'aborted'; detail: string };

/** A statement's place among the `processesMax` running at once. */
export interface SqlSlot {
  /** Runs the statement in a process of its own. */
  run(job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome>;
  /** Gives the place back (the caller does, once the statement is done; later calls no-op). */
  release(): void;
}

interface Child {
  proc: Subprocess<'ignore', 'ignore', 'inherit'>;
  /** The child's answer; null when it exited without one. */
  answer: Promise<SqlJobAnswer | null>;
}

export class SqlProcesses {
  private spare: Child | null = null;
  private running = 0;

  /**
   * `processesMax`: statements running at once (a further one is refused as busy). `command`
   * starts a child (tests start a missing one).
   */
  constructor(
    private readonly processesMax: number,
    private readonly command: readonly string[] = [process.execPath, CHILD_ENTRY],
  ) {}

  /**
   * Takes a place for a statement, before its caller prepares it (exports its events); null
   * when `processesMax` are taken. Released (once) by the caller when the statement is done.
   */
  reserve(): SqlSlot | null {
    if (this.running >= this.processesMax) return null;
    this.running++;
    let held = true;
    return {
      run: (job, limits) => this.runChild(job, limits),
      release: () => {
        if (!held) return;
        held = false;
        this.running--;
      },
    };
  }

  /** Reserves a place, runs `job` and gives the place back; busy when none is free. */
  async run(job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome> {
    const slot = this.reserve();
    if (slot === null) {
      const detail = `${this.running} SQL statements are running (limit ${this.processesMax})`;
      return { ok: false, stopped: 'busy', detail };
    }
    try {
      return await slot.run(job, limits);
    } finally {
      slot.release();
    }
  }

  private async runChild(job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome> {
    const stops: (() => void)[] = [];
    let child: Child | null = null;
    try {
      child = this.takeSpare();
      if (child === null) {
        return {
          ok: false,
          stopped: 'busy',
          detail: 'a process for the statement could not start',
        };
      }
      const { proc } = child;
      proc.send(job);
      const stopped = new Promise<SqlOutcome>((resolve) => {
        const timer = setTimeout(() => {
          resolve({ ok: false, stopped: 'timeout', detail: `${limits.timeoutMs} ms` });
        }, limits.timeoutMs);
        const poll = setInterval(() => {
          const rss = rssBytesOf(proc.pid);
          if (rss !== null && rss > limits.rssBytesMax) {
            resolve({ ok: false, stopped: 'memory', detail: `${rss} bytes` });
          }
        }, MEMORY_POLL_MS);
        const abort = () => resolve({ ok: false, stopped: 'aborted', detail: 'client gone' });
        if (limits.signal?.aborted) abort();
        limits.signal?.addEventListener('abort', abort, { once: true });
        stops.push(
          () => clearTimeout(timer),
          () => clearInterval(poll),
          () => limits.signal?.removeEventListener('abort', abort),
        );
      });
      const answered = child.answer.then(
        (answer): SqlOutcome =>
          answer ?? {
            ok: false,
            stopped: 'exited',
            detail: `exit code ${proc.exitCode}, signal ${proc.signalCode}`,
          },
      );
      return await Promise.race([answered, stopped]);
    } finally {
      for (const stop of stops) stop();
      child?.proc.kill('SIGKILL');
    }
  }

  /**
   * The spare process if it is alive (else a new one), with a new spare started in its place;
   * null when no process can be started (no bun binary, no more processes or files).
   */
  private takeSpare(): Child | null {
    const spare = this.spare;
    this.spare = trySpawn(this.command);
    const alive = spare !== null && spare.proc.exitCode === null && spare.proc.signalCode === null;
    if (alive) return spare;
    spare?.proc.kill('SIGKILL');
    return trySpawn(this.command);
  }
}

function trySpawn(command: readonly string[]): Child | null {
  try {
    return spawnChild(command);
  } catch {
    return null;
  }
}

function spawnChild(command: readonly string[]): Child {
  let deliver: (answer: SqlJobAnswer | null) => void = () => {};
  const answer = new Promise<SqlJobAnswer | null>((resolve) => {
    deliver = resolve;
  });
  const proc = Bun.spawn([...command], {
    stdio: ['ignore', 'ignore', 'inherit'],
    ipc: (message) => deliver(message as SqlJobAnswer),
    onExit: () => deliver(null),
  });
  proc.unref(); // a spare waiting for work never keeps the server running
  return { proc, answer };
}

/** Resident memory of a process (Linux /proc); null where that cannot be read. */
function rssBytesOf(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}
