// The shutdown's steps over fake parts: a step that fails (the stores' close, retention's stop,
// the server's) is one log line naming it and an exit code that says so, after the steps left;
// it was an unhandled rejection (exit 1, a trace on stderr, the last log lines maybe lost).

import { expect, test } from 'bun:test';
import { createLogger, STOP_SIGNALS } from '../src/core/index.ts';
import {
  createShutdown,
  EXIT_STOP_FAILED,
  exitAfterOutput,
  onStopSignals,
  type ShutdownParts,
  stopWhileStarting,
} from '../src/shutdown.ts';

interface Line {
  level: string;
  msg: string;
  step?: string;
  error?: string;
}

/** Far past what the steps take here; never reached by a passing test. */
const DEADLINE_MS = 60_000;

/** Fake parts that record each step; `fail` names the steps whose promise rejects. */
function fakeParts(fail: { server?: boolean; retention?: boolean; engine?: boolean } = {}) {
  const steps: string[] = [];
  const lines: Line[] = [];
  const codes: number[] = [];
  let exited: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const rejectIf = (failed: boolean | undefined, what: string) =>
    failed ? Promise.reject(new Error(`${what} failed: EIO`)) : Promise.resolve();
  const parts: ShutdownParts = {
    server: {
      pendingRequests: 0,
      stop: (closeActive = false) => {
        steps.push(`server.stop(${closeActive})`);
        return rejectIf(fail.server, 'server stop');
      },
    },
    retention: {
      stop: () => {
        steps.push('retention.stop');
        return rejectIf(fail.retention, 'retention stop');
      },
    },
    engine: {
      close: () => {
        steps.push('engine.close');
        return rejectIf(fail.engine, 'close');
      },
    },
    log: createLogger('info', (line) => lines.push(JSON.parse(line) as Line)),
    deadlineMs: DEADLINE_MS,
    faultCloseDelayMs: 0,
    stopAccepting: () => steps.push('stopAccepting'),
    onCut: () => steps.push('onCut'),
    exit: (code) => {
      codes.push(code);
      exited(code);
    },
  };
  return { parts, steps, lines, codes, exit };
}

const failures = (lines: Line[]) =>
  lines.filter((l) => l.level === 'error').map(({ msg, step, error }) => ({ msg, step, error }));

test('a shutdown whose steps succeed logs stopped and exits 0', async () => {
  const { parts, steps, lines, codes, exit } = fakeParts();
  createShutdown(parts)('SIGHUP');
  expect(await exit).toBe(0);
  expect(steps).toEqual([
    'stopAccepting',
    'server.stop(false)',
    'server.stop(true)',
    'retention.stop',
    'engine.close',
  ]);
  expect(lines.map((l) => l.msg)).toEqual(['shutting down', 'stopped']);
  expect(codes).toEqual([0]);
});

test('a close of the stores that fails is logged with its message and exits 1, once', async () => {
  const { parts, steps, lines, codes, exit } = fakeParts({ engine: true });
  createShutdown(parts)('SIGTERM');
  expect(await exit).toBe(EXIT_STOP_FAILED);
  expect(EXIT_STOP_FAILED).not.toBe(0);
  expect(steps.at(-1)).toBe('engine.close');
  expect(failures(lines)).toEqual([
    { msg: 'shutdown step failed', step: 'close the stores', error: 'close failed: EIO' },
  ]);
  expect(lines.some((l) => l.msg === 'stopped')).toBe(false);
  expect(codes).toEqual([EXIT_STOP_FAILED]);
});

test('a step that fails does not skip the next: the stores still close', async () => {
  for (const fail of [{ server: true }, { retention: true }]) {
    const { parts, steps, lines, exit } = fakeParts(fail);
    createShutdown(parts)('SIGINT');
    expect(await exit).toBe(EXIT_STOP_FAILED);
    expect(steps.slice(-2)).toEqual(['retention.stop', 'engine.close']);
    const step = fail.server ? 'stop the server' : 'stop retention';
    expect(failures(lines).map((l) => l.step)).toEqual([step]);
  }
});

test('a start stopped while its store opens exits 1 when its listener fails to close', async () => {
  for (const failed of [false, true]) {
    const { parts, lines, codes } = fakeParts({ server: failed });
    await stopWhileStarting(parts.server, parts.log, parts.exit);
    expect(codes).toEqual([failed ? EXIT_STOP_FAILED : 0]);
    const errors = failures(lines);
    expect(errors).toEqual(
      failed
        ? [
            {
              msg: 'shutdown step failed',
              step: 'close the listener',
              error: 'server stop failed: EIO',
            },
          ]
        : [],
    );
  }
});

// A stdout whose reader is gone (a closed terminal: SIGHUP's case) may throw on write.
test('the exit happens when stdout throws on its last write', async () => {
  const codes: number[] = [];
  const out = {
    write: (): boolean => {
      throw new Error('EIO: i/o error, write');
    },
  };
  await exitAfterOutput(3, out, (code) => codes.push(code));
  expect(codes).toEqual([3]);
});

test('the stop signals are SIGTERM, SIGINT and SIGHUP, each handled until removed', () => {
  expect([...STOP_SIGNALS]).toEqual(['SIGTERM', 'SIGINT', 'SIGHUP']);
  const before = STOP_SIGNALS.map((s) => process.listeners(s));
  const got: string[] = [];
  const off = onStopSignals((signal) => got.push(signal));
  // Only the listeners added here are called: those of the test runner are left alone.
  STOP_SIGNALS.forEach((signal, i) => {
    const added = process.listeners(signal).filter((l) => !before[i]?.includes(l));
    expect(added).toHaveLength(1);
    for (const listener of added) listener(signal);
  });
  expect(got).toEqual([...STOP_SIGNALS]);
  off();
  expect(STOP_SIGNALS.map((s) => process.listeners(s))).toEqual(before);
});
