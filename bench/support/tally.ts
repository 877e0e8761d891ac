// The real Tally server as the benchmark runs it (`bun src/main.ts` on 127.0.0.1, a fresh data
// directory, durable acks), and the check after a run: kill -9, restart on the same directory,
// and confirm that every acknowledged event came back from the write-ahead log.

import { defaultTunables } from '../../src/core/index.ts';
import { freePort, type ServerProcess, spawnServer, waitLogLine, waitReady } from './processes.ts';

/**
 * Tally's environment in every measured run. LOG_LEVEL=warn: at info, Tally writes one JSON
 * line per request, which would be part of the cost (the port is picked free beforehand, so
 * the "listening" line is not needed). Every limit keeps its default; a scenario that needs
 * another value says so in its own `tallyEnv` (bench/ingest.bench.ts).
 */
export const TALLY_BENCH_ENV: Readonly<Record<string, string>> = {
  HOST: '127.0.0.1',
  DURABILITY: 'fsync',
  LOG_LEVEL: 'warn',
};

/**
 * The DEDUP_KEYS_MAX of a Tally started with `start`: the default unless the environment sets it
 * (--tally-env, or the shell's, which spawnServer passes on). A value Tally refuses stops it.
 */
export function dedupKeysMaxOf(start: TallyStart): number {
  const raw = (start.env.DEDUP_KEYS_MAX ?? Bun.env.DEDUP_KEYS_MAX ?? '').trim();
  return raw === '' ? defaultTunables.dedupKeysMax : Number(raw);
}

/** Replaying a large log at start can take a while on a slow disk. */
const READY_TIMEOUT_MS = 60_000;

export interface TallyStart {
  dataDir: string;
  /** Additions to TALLY_BENCH_ENV: the scenario's, then --tally-env overrides (profiling). */
  env: Record<string, string>;
  /** Extra bun flags, e.g. --cpu-prof-md. */
  bunFlags: string[];
}

/** Starts Tally on a free port; `overrides` win over everything else. */
export async function startTally(
  start: TallyStart,
  overrides: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = freePort();
  const server = spawnServer(
    {
      name: 'tally',
      argv: [process.execPath, ...start.bunFlags, 'src/main.ts'],
      env: {
        ...TALLY_BENCH_ENV,
        PORT: String(port),
        DATA_DIR: start.dataDir,
        ...start.env,
        ...overrides,
      },
    },
    `http://127.0.0.1:${port}`,
  );
  // /ready, not /health: the server listens (and /health answers) while the store opens.
  await waitReady(server, '/ready', READY_TIMEOUT_MS);
  return server;
}

/** One wrk run against a Tally data directory: what it sent, what was acknowledged. */
export interface LoadRun {
  sent: Record<string, number>;
  okRequests: number;
  /** A sample of event ids from 2xx responses. */
  acked: readonly string[];
}

export interface Verification {
  storedEvents: number;
  ackedEvents: number;
  sentEvents: number;
  replayMs: number;
  sampled: number;
  problems: string[];
}

/**
 * Restarts Tally on `start.dataDir` after the previous process was stopped and checks the
 * replayed store: acked <= stored <= sent events, and every sampled acknowledged id reads back.
 */
export async function verifyRestart(
  start: TallyStart,
  runs: readonly LoadRun[],
  eventsPerRequest: number,
): Promise<Verification> {
  // info: the "store opened" line reports how many events the log replayed.
  const server = await startTally({ ...start, bunFlags: [] }, { LOG_LEVEL: 'info' });
  try {
    const opened = await waitLogLine(server, 'store opened', READY_TIMEOUT_MS);
    const storedEvents = replayedCount(opened);
    const ackedEvents = sum(runs.map((r) => r.okRequests)) * eventsPerRequest;
    const sentEvents = sum(runs.flatMap((r) => Object.values(r.sent))) * eventsPerRequest;
    const problems: string[] = [];
    // NaN (no count logged) is not a failure: the sampled ids are still read back.
    if (storedEvents < ackedEvents) {
      problems.push(`only ${storedEvents} events replayed, ${ackedEvents} were acknowledged`);
    } else if (storedEvents > sentEvents) {
      problems.push(`${storedEvents} events replayed, more than the ${sentEvents} sent`);
    }
    const ids = runs.flatMap((r) => r.acked);
    if (ids.length === 0) problems.push('no acknowledged event ids were sampled');
    for (const id of ids) {
      const problem = await readBack(server.url, id);
      if (problem !== null) problems.push(problem);
    }
    return {
      storedEvents,
      ackedEvents,
      sentEvents,
      replayMs: Number(opened.ms),
      sampled: ids.length,
      problems,
    };
  } finally {
    await server.stop('SIGTERM');
  }
}

/**
 * Distinct events known after replay, from the "store opened" log line: `hotEvents` in early
 * versions, `dedup_keys` later (every stored event inside the dedup window has a key). NaN when
 * the line has neither.
 */
function replayedCount(opened: Record<string, unknown>): number {
  for (const field of ['hotEvents', 'dedup_keys', 'dedupKeys']) {
    if (typeof opened[field] === 'number') return opened[field];
  }
  return Number.NaN;
}

async function readBack(url: string, id: string): Promise<string | null> {
  const response = await fetch(`${url}/api/v1/events/${encodeURIComponent(id)}`);
  if (response.status !== 200) return `GET event ${id} answered ${response.status}`;
  const event = (await response.json()) as { event_id?: unknown; name?: unknown };
  if (event.event_id !== id || event.name !== 'page_view') {
    return `GET event ${id} returned ${JSON.stringify(event).slice(0, 200)}`;
  }
  return null;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
