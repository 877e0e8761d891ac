// Child processes of the ingest benchmark: the real Tally server and the bare baseline. Owns
// picking a free port, spawning with a known environment, draining output so a pipe never
// blocks the child, waiting for readiness, reading CPU time and memory from /proc, and stopping.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dir, '..', '..');
/**
 * Where the benchmarks that keep raw output (bench:ingest's wrk runs and results, bench:live's
 * results) write it: bench/out (git-ignored), or BENCH_OUT_DIR (bench:smoke's temp dirs).
 */
export const OUT_DIR = path.resolve(Bun.env.BENCH_OUT_DIR || path.join(REPO_ROOT, 'bench', 'out'));

/** Linux reports /proc/<pid>/stat times in USER_HZ ticks, which is 100 on every arch we run. */
const TICKS_PER_SECOND = 100;
const OUTPUT_LINES_MAX = 2000;
const READY_POLL_MS = 25;

export interface ServerProcess {
  name: string;
  pid: number;
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The last lines the child wrote to stdout and stderr. */
  lines: string[];
  exited: Promise<number>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface SpawnSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
}

/** A port nothing listens on now: bind port 0, read the port, release it. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Spawns `spec` from the repository root; stdout and stderr are drained into `lines`. */
export function spawnServer(spec: SpawnSpec, url: string): ServerProcess {
  const proc = Bun.spawn(spec.argv, {
    cwd: REPO_ROOT,
    env: { ...Bun.env, ...spec.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const lines: string[] = [];
  void drainLines(proc.stdout, lines);
  void drainLines(proc.stderr, lines);
  return {
    name: spec.name,
    pid: proc.pid,
    url,
    lines,
    exited: proc.exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

async function drainLines(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > OUTPUT_LINES_MAX) lines.splice(0, lines.length - OUTPUT_LINES_MAX);
  }
  if (pending !== '') lines.push(pending);
}

/** Waits until GET `url` answers 2xx; fails when the child exits or `timeoutMs` passes. */
export async function waitReady(server: ServerProcess, path: string, timeoutMs: number) {
  let exitCode: number | null = null;
  void server.exited.then((code) => {
    exitCode = code;
  });
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (exitCode !== null) throw startFailure(server, `exited with code ${exitCode}`);
    const ok = await fetch(`${server.url}${path}`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await Bun.sleep(READY_POLL_MS);
  }
  // Unusable: stop it here, or it would outlive the benchmark (and its data directory).
  const failure = startFailure(server, `did not answer ${path} within ${timeoutMs} ms`);
  await server.stop('SIGKILL');
  throw failure;
}

/** Waits for a JSON log line whose `msg` is `msg`; returns its fields. */
export async function waitLogLine(
  server: ServerProcess,
  msg: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const line of server.lines) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      return JSON.parse(line) as Record<string, unknown>;
    }
    await Bun.sleep(READY_POLL_MS);
  }
  throw startFailure(server, `did not log "${msg}" within ${timeoutMs} ms`);
}

function startFailure(server: ServerProcess, what: string): Error {
  const tail = server.lines.slice(-20).join('\n  ');
  return new Error(`${server.name} ${what}; its last output:\n  ${tail || '(none)'}`);
}

/** User + system CPU seconds of a live process (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds all processes on the machine spent busy so far (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return busy / TICKS_PER_SECOND;
}

/** Peak resident memory of a live process in MiB (VmHWM), or NaN when unknown. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Resident memory of a process now in MiB (VmRSS), or NaN when unknown or gone. */
export function rssMiB(pid: number): number {
  try {
    return statusMiB(pid, 'VmRSS');
  } catch {
    return Number.NaN;
  }
}

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}
