// The server's shutdown on a stop signal, for main.ts (the composition root): stop accepting →
// answer the requests in flight → close every connection → finish in-flight commits → close the
// stores → exit, forced after the deadline (or at once on a second signal). A step that fails is
// logged and the next one still runs (a listener that failed to stop still lets the stores
// close); the exit code then says the shutdown did not finish. Never an unhandled rejection:
// that exited 1 with a trace on stderr and no log line, maybe before the last lines were out.

import { type Logger, STOP_SIGNALS, type StopSignal, signalLimits } from './core/index.ts';
import type { Engine, RetentionPass } from './engine/index.ts';
import { type StoppableServer, stopServer } from './http/index.ts';

/** A shutdown cut short (a second signal, or the deadline passed); the log makes a restart safe. */
const EXIT_INTERRUPTED = 1;
/**
 * A shutdown with a step that failed (logged: `shutdown step failed`, with the step and the
 * error); as after one cut short, the log makes a restart safe.
 */
export const EXIT_STOP_FAILED = 1;
/** How long an exit waits for the last log lines to leave stdout at most. */
const OUTPUT_WAIT_MS_MAX = 1000;
/**
 * The share of SHUTDOWN_DEADLINE the requests in flight at the signal get to be answered. What
 * still runs then (a long statement, a body still arriving) is cut: the rest of the deadline is
 * for closing the stores, which first finish a running flush or compaction.
 */
const SHUTDOWN_REQUESTS_SHARE = 3 / 4;

/** Exits the process with `code`; tests pass a recorder. */
export type Exit = (code: number) => unknown;

/** Calls `handler` on each stop signal; the function returned removes it again. */
export function onStopSignals(handler: (signal: StopSignal) => void): () => void {
  const installed = STOP_SIGNALS.map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of installed) process.off(signal, listener);
  };
}

export interface ShutdownParts {
  server: StoppableServer;
  engine: Pick<Engine, 'close'>;
  retention: Pick<RetentionPass, 'stop'>;
  log: Logger;
  /** SHUTDOWN_DEADLINE. */
  deadlineMs: number;
  /** FAULT_CLOSE_DELAY (tests only): the stores close this much later. */
  faultCloseDelayMs: number;
  /** At the first signal: refuse new work, stop the timers, close the live sockets. */
  stopAccepting: () => void;
  /** The requests still running at their share of the deadline are being cut. */
  onCut: () => void;
  exit?: Exit;
}

/** The handler of the stop signals once the server serves. */
export function createShutdown(parts: ShutdownParts): (signal: StopSignal) => void {
  const { log, deadlineMs, exit = exitAfterOutput } = parts;
  let signalledAt: number | null = null;
  return (signal) => {
    if (signalledAt !== null) {
      // The first signal again (npm's forward of it: signalLimits), not a second one.
      if (performance.now() - signalledAt < signalLimits.repeatMs) return;
      log.error('second signal during shutdown; exiting now, a restart recovers from the log', {
        signal,
      });
      void exit(EXIT_INTERRUPTED);
      return;
    }
    signalledAt = performance.now();
    log.info('shutting down', { signal });
    parts.stopAccepting();
    const force = setTimeout(() => {
      log.error('shutdown deadline passed; exiting', { deadline_ms: deadlineMs });
      void exit(EXIT_INTERRUPTED);
    }, deadlineMs);
    void stopInOrder(parts).then((stopped) => {
      clearTimeout(force);
      return exit(stopped ? 0 : EXIT_STOP_FAILED);
    });
  };
}

/**
 * The stop of a start whose store still opens: its listener closes and the process exits 0, or
 * EXIT_STOP_FAILED when the close failed (logged).
 */
export async function stopWhileStarting(
  server: StoppableServer | undefined,
  log: Logger,
  exit: Exit = exitAfterOutput,
): Promise<void> {
  const closed = await runStep(log, 'close the listener', async () => {
    await server?.stop(true);
  });
  await exit(closed ? 0 : EXIT_STOP_FAILED);
}

/** Every step of the shutdown, in order; whether all of them succeeded (never rejects). */
async function stopInOrder(parts: ShutdownParts): Promise<boolean> {
  const { log, engine, retention } = parts;
  const requestsWaitMs = parts.deadlineMs * SHUTDOWN_REQUESTS_SHARE;
  const served = await runStep(log, 'stop the server', () =>
    stopServer(parts.server, requestsWaitMs, (requests) => {
      log.warn('requests still running at their share of the shutdown deadline are cut', {
        requests,
      });
      parts.onCut();
    }),
  );
  if (parts.faultCloseDelayMs > 0) {
    log.warn('fault injection is on: the stores close late', { ms: parts.faultCloseDelayMs });
    await Bun.sleep(parts.faultCloseDelayMs);
  }
  // A retention pass running ends after its tenant: its catalog step and files go together.
  const retentionStopped = await runStep(log, 'stop retention', () => retention.stop());
  // Commits of requests cut above still finish: the log stays whole either way.
  const closed = await runStep(log, 'close the stores', () => engine.close());
  if (!(served && retentionStopped && closed)) return false;
  log.info('stopped', {});
  return true;
}

/**
 * Runs one step of a shutdown: a failure is logged (the step, the error's message), and is the
 * exit code's to tell, not an exception's. Whether the step succeeded.
 */
export async function runStep(
  log: Logger,
  step: string,
  run: () => Promise<void>,
): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error('shutdown step failed', { step, error: message });
    return false;
  }
}

/**
 * Exits once the last lines are out: request-log lines are written by after-response hooks,
 * which run on a later turn than the response, and stdout to a pipe may still hold some. A
 * stdout nobody reads never holds the exit past OUTPUT_WAIT_MS_MAX, and one that fails (its
 * reader gone: the closed terminal of a SIGHUP) does not stop it.
 */
export async function exitAfterOutput(
  code: number,
  out: Pick<NodeJS.WriteStream, 'write'> = process.stdout,
  exit: Exit = (c) => process.exit(c),
): Promise<void> {
  const flushed = (async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => out.write('', resolve));
  })();
  // A stdout that failed has nothing more to send: the exit goes on all the same.
  await Promise.race([flushed.catch(() => undefined), Bun.sleep(OUTPUT_WAIT_MS_MAX)]);
  exit(code);
}
