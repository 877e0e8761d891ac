// `npm start`, as the README's Quick start runs the server, stopped as a supervisor or a terminal
// stops it: a signal to npm alone (Docker's `CMD ["npm","start"]`, systemd's KillMode=mixed, pm2)
// must reach the server, and Ctrl-C (SIGINT to the whole process group, which npm also forwards
// to its child) must still be one clean shutdown, not a "second signal".

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROOT = path.resolve(import.meta.dir, '../..');
/** Far past what npm and the server take to start or stop on a loaded machine. */
const WAIT_MS_MAX = 30_000;

const temps: (() => void)[] = [];
const started: ChildProcess[] = [];
afterEach(() => {
  // A failed test leaves npm's process group running: every process of it is killed.
  for (const npm of started.splice(0)) {
    try {
      process.kill(-(npm.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
afterAll(() => {
  for (const remove of temps) remove();
});

interface NpmServer {
  npm: ChildProcess;
  lines: string[];
  /** npm's exit code, or the signal that ended it. */
  exited: Promise<number | string>;
}

/** `npm start` in a process group of its own (as a terminal's), once the server is ready. */
async function npmStart(): Promise<NpmServer> {
  const t = makeTempDir();
  temps.push(t.remove);
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: t.dir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(npm);
  const lines: string[] = [];
  let buffered = '';
  npm.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  npm.stderr?.resume();
  const exited = new Promise<number | string>((resolve) =>
    npm.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  await until(() => lines.some((l) => l.includes('"msg":"ready"')), 'the server is ready');
  return { npm, lines, exited };
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await Bun.sleep(10);
  }
}

/** A server process's command: bun (not the shell npm starts it with) on src/main.ts. */
const SERVER = /(^|\/)bun(\.exe)? src\/main\.ts$/;

/** The pids of the server processes (`bun src/main.ts`) in npm's process group. */
function serversIn(group: number): number[] {
  const out = Bun.spawnSync(['ps', '-o', 'pid=,pgid=,args=', '-e']).stdout.toString();
  return out
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .filter(([, pgid, bin = '', main]) => Number(pgid) === group && SERVER.test(`${bin} ${main}`))
    .map(([pid]) => Number(pid));
}

describe('npm start', () => {
  test('SIGTERM to npm alone stops the server cleanly: it is not left running', async () => {
    const { npm, lines, exited } = await npmStart();
    const group = npm.pid as number;
    expect(serversIn(group)).toHaveLength(1);
    npm.kill('SIGTERM');
    expect(await exited).toBe(0); // the server's clean exit, which npm passes on
    // The server got the signal and shut down in order, not orphaned still listening.
    await until(() => serversIn(group).length === 0, 'the server exits');
    expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  test('Ctrl-C (SIGINT to the process group) is one clean shutdown, exit 0', async () => {
    const { npm, lines, exited } = await npmStart();
    process.kill(-(npm.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('second signal'))).toBe(false);
    expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  // README "Operations": npm does not forward SIGHUP; one sent to npm alone ends npm and leaves
  // the server running (a closed terminal sends it to the server too).
  test('SIGHUP to npm alone ends npm and leaves the server running', async () => {
    const { npm, exited } = await npmStart();
    const group = npm.pid as number;
    const [server] = serversIn(group);
    npm.kill('SIGHUP');
    expect(await exited).toBe('SIGHUP');
    expect(serversIn(group)).toEqual([server as number]);
    process.kill(server as number, 'SIGTERM'); // the server still stops as a signal asks
    await until(() => serversIn(group).length === 0, 'the server exits');
  });
});
