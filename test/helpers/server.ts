// Spawns the real server (`bun src/main.ts`) on port 0 with a data dir, waits for its
// "listening" log line, and hands back its URL. For tests that need a real process: crash,
// shutdown, SDK clients, browsers.

import * as path from 'node:path';
import type { Subprocess } from 'bun';

const ROOT = path.resolve(import.meta.dir, '../..');
const START_TIMEOUT_MS = 15_000;

export interface RunningServer {
  url: string;
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** Resolves once stdout is closed and every line of it is in `lines`. */
  output: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const proc = Bun.spawn([process.execPath, path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const lines: string[] = [];
  let output: Promise<void> = Promise.resolve();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a stuck server behind
      reject(new Error(`server did not start in time: ${lines.slice(-5).join(' | ')}`));
    }, START_TIMEOUT_MS);
    output = readLines(proc.stdout, (line) => {
      lines.push(line);
      if (line.includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url.replace(/\/$/, ''));
      }
    });
    void proc.exited.then(async (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `server exited with ${code} before listening: ${await new Response(proc.stderr).text()}`,
        ),
      );
    });
  });
  return {
    url,
    proc,
    lines,
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
}
