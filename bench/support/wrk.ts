// Runs wrk against a local URL with one of the Lua scripts in bench/wrk/ and reads back the
// summary line the scripts print (BENCH_JSON {...}), plus wrk's own CPU time. Owns the check
// that wrk is installed and the message that says how to install it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './processes.ts';

const SUMMARY_PREFIX = 'BENCH_JSON ';

export interface WrkRun {
  /** Base URL of the server, 127.0.0.1 only. */
  url: string;
  /** Script name under bench/wrk/, e.g. 'single-event.lua'. */
  script: string;
  /** The run nonce: part of every event_id, unique per run. */
  nonce: string;
  /** Keep a sample of acknowledged event ids (costs wrk CPU: it then parses every response). */
  sampleAcks: boolean;
  /** Script-specific arguments after the nonce and the sample flag. */
  args: string[];
  durationS: number;
  threads: number;
  connections: number;
  timeoutS: number;
  /** Where wrk's full output is kept. */
  outFile: string;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  /** Requests each thread built, by thread id (1-based). */
  sent: Record<string, number>;
  /** A uniform sample of event ids from 2xx responses (empty unless `sampleAcks`). */
  acked: string[];
  /** Non-2xx responses by status, and the first such body (empty unless `sampleAcks`). */
  failed: Record<string, number>;
  failedBody: string;
  /** Requests answered with a status below 400, per second. */
  okPerSecond: number;
  /** wrk's own user + system CPU seconds. */
  cpuS: number;
}

/** The wrk binary, or null with the install hint printed. */
export function findWrk(): string | null {
  const wrk = Bun.which('wrk');
  if (wrk !== null) return wrk;
  process.stderr.write(
    [
      'bench:ingest needs wrk (HTTP load generator), which is not on PATH.',
      'Install it from Debian/Ubuntu:',
      '  sudo apt-get update && sudo apt-get install -y wrk',
      'or on macOS: brew install wrk. Then run `bun run bench:ingest` again.',
      '',
    ].join('\n'),
  );
  return null;
}

/** e.g. 'debian/4.1.0-3+b2' (wrk -v prints its version and exits non-zero). */
export function wrkVersion(wrk: string): string {
  const out = Bun.spawnSync([wrk, '-v'], { stdout: 'pipe', stderr: 'pipe' });
  const text = `${out.stdout.toString()}${out.stderr.toString()}`;
  return /^wrk (\S+)/m.exec(text)?.[1] ?? 'unknown';
}

export async function runWrk(wrk: string, run: WrkRun): Promise<WrkResult> {
  if (!run.url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load ${run.url}`);
  const argv = [
    wrk,
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.durationS}s`,
    `--timeout`,
    `${run.timeoutS}s`,
    '-s',
    path.join('bench', 'wrk', run.script),
    run.url,
    '--',
    run.nonce,
    run.sampleAcks ? 'sample' : 'no',
    ...run.args,
  ];
  const proc = Bun.spawn(argv, { cwd: REPO_ROOT, stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  fs.mkdirSync(path.dirname(run.outFile), { recursive: true });
  fs.writeFileSync(run.outFile, `$ ${argv.join(' ')}\n${stdout}${stderr}`);
  const line = stdout.split('\n').find((l) => l.startsWith(SUMMARY_PREFIX));
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk failed (exit ${code}); see ${run.outFile}:\n${stderr || stdout}`);
  }
  const usage = proc.resourceUsage();
  return toResult(JSON.parse(line.slice(SUMMARY_PREFIX.length)) as RawSummary, usage);
}

/** The line common.lua prints from wrk's done(). */
interface RawSummary {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: WrkResult['errors'];
  latency_us: WrkResult['latencyUs'];
  sent: Record<string, number>;
  acked: string[];
  failed: Record<string, number>;
  failed_body: string;
}

function toResult(raw: RawSummary, usage: Bun.ResourceUsage | undefined): WrkResult {
  const durationS = raw.duration_us / 1e6;
  return {
    requests: raw.requests,
    durationS,
    bytes: raw.bytes,
    errors: raw.errors,
    latencyUs: raw.latency_us,
    sent: raw.sent,
    acked: raw.acked,
    failed: raw.failed,
    failedBody: raw.failed_body,
    okPerSecond: (raw.requests - raw.errors.status) / durationS,
    cpuS: usage === undefined ? Number.NaN : Number(usage.cpuTime.total) / 1e6,
  };
}
