// Spawns the real server (`bun src/main.ts`) on port 0 with a data dir, waits for its "ready"
// log line (the store is open; "listening" comes first, while it opens), and hands back its URL. For tests that need a real process: crash,
// shutdown, SDK clients, browsers. Every process started here is tracked, so a test that fails
// or times out before stopping its server leaves nothing running: `killServers` in afterEach.

import * as path from 'node:path';
import type { Subprocess } from 'bun';

const ROOT = path.resolve(import.meta.dir, '../..');
const MAIN = path.join(ROOT, 'src/main.ts');
const START_TIMEOUT_MS = 15_000;

type ServerProcess = Subprocess<'ignore', 'pipe', 'pipe'>;

/** Processes spawned here that have not exited yet. */
const running = new Set<ServerProcess>();

export interface RunningServer {
  url: string;
  proc: ServerProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Every stderr line so far (the server's and its SQL processes', which share it). */
  errorLines: string[];
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** Resolves once stdout is closed and every line of it is in `lines`. */
  output: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `bun src/main.ts` with `env` over this process's; tracked until it exits. */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const proc = Bun.spawn([process.execPath, MAIN], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/** SIGKILLs every process spawned here that still runs, and waits until each has exited. */
export async function killServers(): Promise<void> {
  const left = [...running];
  for (const proc of left) proc.kill('SIGKILL');
  await Promise.all(left.map((proc) => proc.exited));
}

/**
 * Starts a server and resolves once it logs `until`: 'ready' (the store is open and every
 * route answers), or 'listening' (the socket answers, 503 "starting" until ready).
 */
export async function startServer(
  dataDir: string,
  env: Record<string, string> = {},
  until: 'ready' | 'listening' = 'ready',
): Promise<RunningServer> {
  const proc = spawnServer({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...env,
  });
  const lines: string[] = [];
  const errorLines: string[] = [];
  // Read while the server runs, as stdout is: a pipe nobody reads fills (64 KiB) and then
  // blocks every write to it, the server's and its SQL processes'. (Bun 1.4 happens to buffer
  // an unread pipe in memory itself; reading it here does not depend on that.)
  const errorOutput = readLines(proc.stderr, (line) => errorLines.push(line));
  let output: Promise<void> = Promise.resolve();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a stuck server behind
      reject(new Error(`server did not start in time: ${lines.slice(-5).join(' | ')}`));
    }, START_TIMEOUT_MS);
    output = readLines(proc.stdout, (line) => {
      lines.push(line);
      if (line.includes(`"msg":"${until}"`)) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url.replace(/\/$/, ''));
      }
    });
    void proc.exited.then(async (code) => {
      clearTimeout(timer);
      await errorOutput;
      reject(
        new Error(`server exited with ${code} before it was ${until}: ${errorLines.join('\n')}`),
      );
    });
  });
  return {
    url,
    proc,
    lines,
    errorLines,
    exited: proc.exited,
    output,
    kill: (signal = 'SIGKILL') => proc.kill(signal),
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  }
  buffered += decoder.decode();
  if (buffered !== '') onLine(buffered); // a last line without its newline
}
