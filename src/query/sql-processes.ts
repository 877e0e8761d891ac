// The processes SQL statements of POST /api/v1/query run in (sql-child.ts): one per statement,
// killed when it answers, at the time limit, or once its resident memory passes its limit.
// DuckDB cannot interrupt one function call building a huge value (`list_resize(…, 1e9)`,
// `lpad(…, 2^31)`) nor count such values against its memory limit; in a process of its own
// such a statement costs that process only. One spare process is kept started, so a statement
// does not wait ~0.1–0.2 s for a process to boot. One tenant holds only some of the places, so
// its slow statements never refuse every other tenant's (DESIGN §1: a burst is that tenant's).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Subprocess } from 'bun';
import { queryLimits } from './limits.ts';
import type { SqlJob, SqlJobAnswer, SqlJobStarted } from './sql-job.ts';

const CHILD_ENTRY = path.join(import.meta.dir, 'sql-child.ts');

/** How often a running statement's memory is looked at. */
const MEMORY_POLL_MS = 50;

export interface SqlRunLimits {
  /** The statement's time, counted from its start in its process (the boot is not counted). */
  timeoutMs: number;
  /** Time the process has to get ready before the statement starts ('busy' beyond). */
  startMsMax: number;
  /** Resident memory of the statement's process at most. */
  rssBytesMax: number;
  /** Stops the statement when it aborts (the client went away). */
  signal?: AbortSignal;
}

export type SqlOutcome =
  | SqlJobAnswer
  | {
      ok: false;
      stopped: 'timeout' | 'memory' | 'exited' | 'busy' | 'tenant_busy' | 'aborted';
      detail: string;
    };

/** How many statements run at once: in all, and of one tenant. */
export interface SqlProcessLimits {
  /** Statements running at once (a further one is refused as busy). */
  processesMax: number;
  /** Statements of one tenant running at once (a further one of it is refused as tenant_busy). */
  tenantProcessesMax: number;
}

/** A statement's place among the `processesMax` running at once. */
export interface SqlSlot {
  /** Runs the statement in a process of its own. */
  run(job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome>;
  /** Gives the place back (the caller does, once the statement is done; later calls no-op). */
  release(): void;
}

/**
 * A place taken, or why none was: `tenant_busy` when the tenant holds its share (its own
 * burst, retried later by it), `busy` when every place is taken (the whole node is loaded).
 */
export type SqlReservation =
  | { kind: 'ok'; slot: SqlSlot }
  | { kind: 'tenant_busy'; detail: string }
  | { kind: 'busy'; detail: string };

interface Child {
  proc: Subprocess<'ignore', 'ignore', 'inherit'>;
  /** Resolves when the child says the statement starts (its DuckDB is set up). */
  started: Promise<void>;
  /** The child's answer; null when it exited without one. */
  answer: Promise<SqlJobAnswer | null>;
}

export class SqlProcesses {
  private spare: Child | null = null;
  private running = 0;
  /** Statements running per tenant; a tenant with none has no entry. */
  private readonly runningByTenant = new Map<string, number>();

  /** `command` starts a child (tests start a missing one). */
  constructor(
    private readonly limits: SqlProcessLimits,
    private readonly command: readonly string[] = [process.execPath, CHILD_ENTRY],
  ) {}

  /**
   * Takes a place for a statement of `tenant`, before its caller prepares it (exports its
   * events). Released (once) by the caller when the statement is done.
   */
  reserve(tenant: string): SqlReservation {
    const { processesMax, tenantProcessesMax } = this.limits;
    const ofTenant = this.runningByTenant.get(tenant) ?? 0;
    // The tenant's own share is looked at first: a tenant at its share is told to slow down
    // (429) even when the node is full too, since its statements are part of that load.
    if (ofTenant >= tenantProcessesMax) {
      const detail = `${ofTenant} SQL statements of the tenant are running`;
      return { kind: 'tenant_busy', detail: `${detail} (limit ${tenantProcessesMax})` };
    }
    if (this.running >= processesMax) {
      const detail = `${this.running} SQL statements are running (limit ${processesMax})`;
      return { kind: 'busy', detail };
    }
    this.running++;
    this.runningByTenant.set(tenant, ofTenant + 1);
    let held = true;
    const slot: SqlSlot = {
      run: (job, limits) => this.runChild(job, limits),
      release: () => {
        if (!held) return;
        held = false;
        this.running--;
        const left = (this.runningByTenant.get(tenant) ?? 0) - 1;
        if (left > 0) this.runningByTenant.set(tenant, left);
        else this.runningByTenant.delete(tenant);
      },
    };
    return { kind: 'ok', slot };
  }

  /**
   * Kills the spare process (a statement running keeps its own until it ends). The spare of
   * the server's SqlProcesses ends with the server (its IPC channel closes); other owners,
   * tests among them, close theirs.
   */
  close(): void {
    this.spare?.proc.kill('SIGKILL');
    this.spare = null;
  }

  /** Reserves a place for `tenant`, runs `job` and gives the place back; busy when none is free. */
  async run(tenant: string, job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome> {
    const reservation = this.reserve(tenant);
    if (reservation.kind !== 'ok')
      return { ok: false, stopped: reservation.kind, detail: reservation.detail };
    try {
      return await reservation.slot.run(job, limits);
    } finally {
      reservation.slot.release();
    }
  }

  private async runChild(job: SqlJob, limits: SqlRunLimits): Promise<SqlOutcome> {
    let child: Child | null = null;
    let watch: StatementWatch | null = null;
    try {
      child = this.startJob(job);
      if (child === null) {
        return {
          ok: false,
          stopped: 'busy',
          detail: 'a process for the statement could not start',
        };
      }
      const { proc, started } = child;
      watch = watchStatement(proc.pid, started, limits);
      const answered = child.answer.then(
        (answer): SqlOutcome =>
          answer ?? {
            ok: false,
            stopped: 'exited',
            detail: `exit code ${proc.exitCode}, signal ${proc.signalCode}`,
          },
      );
      return await Promise.race([answered, watch.stopped]);
    } finally {
      watch?.stop();
      child?.proc.kill('SIGKILL');
    }
  }

  /**
   * A process that took `job`: the spare, else a new one; null when none takes it. A spare that
   * died (killed by an operator or the OOM killer) may not be seen dead yet, its exit not
   * handled, while its IPC channel is already closed: sending then throws, and a new process
   * takes the job instead of the statement failing with a 500.
   */
  private startJob(job: SqlJob): Child | null {
    const spare = this.takeSpare();
    if (spare !== null && sent(spare, job)) return spare;
    spare?.proc.kill('SIGKILL');
    const fresh = spare === null ? null : trySpawn(this.command);
    if (fresh !== null && sent(fresh, job)) return fresh;
    fresh?.proc.kill('SIGKILL');
    return null;
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

/** A statement's limits being watched (see `watchStatement`). */
export interface StatementWatch {
  /** Resolves with the first limit the statement passed (never, when none is). */
  stopped: Promise<SqlOutcome>;
  /** Disarms every timer and listener (the statement is done); later calls no-op. */
  stop(): void;
}

/**
 * Watches the statement of process `pid`: its start limit until the process says it started,
 * then its time limit, its memory and the caller's abort. Once one stopped it or `stop` was
 * called, nothing is armed again: a start told late, after the start limit refused the
 * statement as busy, arms no time limit for a statement that never runs.
 */
export function watchStatement(
  pid: number,
  started: Promise<void>,
  limits: SqlRunLimits,
): StatementWatch {
  let over = false;
  let finish: (outcome: SqlOutcome) => void = () => {};
  const stopped = new Promise<SqlOutcome>((resolve) => {
    finish = resolve;
  });
  const abort = () => end({ ok: false, stopped: 'aborted', detail: 'client gone' });
  const stop = () => {
    over = true;
    clearTimeout(timer);
    clearInterval(poll);
    limits.signal?.removeEventListener('abort', abort);
  };
  const end = (outcome: SqlOutcome) => {
    stop();
    finish(outcome);
  };
  let timer = setTimeout(() => {
    const detail = `the statement's process was not ready within ${limits.startMsMax} ms`;
    end({ ok: false, stopped: 'busy', detail });
  }, limits.startMsMax);
  void started.then(() => {
    if (over) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      end({ ok: false, stopped: 'timeout', detail: `${limits.timeoutMs} ms` });
    }, limits.timeoutMs);
  });
  const poll = setInterval(() => {
    const rss = rssBytesOf(pid);
    if (rss !== null && rss > limits.rssBytesMax) {
      end({ ok: false, stopped: 'memory', detail: `${rss} bytes` });
    }
  }, MEMORY_POLL_MS);
  if (limits.signal?.aborted) abort();
  else limits.signal?.addEventListener('abort', abort, { once: true });
  return { stopped, stop };
}

/** Whether `child` took `job` (its IPC channel may be closed: it died, or is dying). */
function sent(child: Child, job: SqlJob): boolean {
  try {
    child.proc.send(job);
    return true;
  } catch {
    return false;
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
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const proc = Bun.spawn([...command], {
    stdio: ['ignore', 'ignore', 'inherit'],
    ipc: (message: SqlJobAnswer | SqlJobStarted) => {
      if ('started' in message) {
        lowerPriority(proc.pid);
        markStarted();
      } else deliver(message);
    },
    onExit: () => deliver(null),
  });
  proc.unref(); // a spare waiting for work never keeps the server running
  preferOomKill(proc.pid);
  return { proc, started, answer };
}

/** The most a process's oom_score_adj goes: the first the kernel's OOM killer takes. */
const OOM_SCORE_ADJ_MAX = 1000;

/**
 * Makes the statement's process the OOM killer's first choice: a statement allocating faster
 * than its memory is checked (rssBytesMax, every 50 ms) on a host short of memory must not
 * have the server killed in its place. Where the system refuses (not Linux), it stays as is.
 */
function preferOomKill(pid: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(OOM_SCORE_ADJ_MAX));
  } catch {
    // Not Linux, or refused: the kernel picks by memory alone.
  }
}

/**
 * Lowers the CPU priority of every thread of the statement's process below the server's
 * (sqlProcessNice) as the statement starts: its DuckDB's threads are running then, and threads
 * started later inherit it from theirs. Not before: booting bun and setting up DuckDB are the
 * server's work, and a process niced from its spawn took over 10 s to be ready on a host whose
 * two cores were busy (every statement `503`, its start limit passed). Where the system refuses,
 * the statement runs at the server's priority.
 */
function lowerPriority(pid: number): void {
  const nice = Math.min(19, os.getPriority() + queryLimits.sqlProcessNice);
  let threads: string[];
  try {
    // On Linux a priority is each thread's; elsewhere the process's.
    threads = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    threads = [String(pid)];
  }
  for (const thread of threads) {
    try {
      os.setPriority(Number(thread), nice);
    } catch {
      // Gone meanwhile, or refused: the statement still runs.
    }
  }
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
