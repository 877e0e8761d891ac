// Kill -9 rounds against the real server: concurrent clients send unique ids, the server is
// SIGKILLed at a seeded random moment, restarted, and every acknowledged id must be stored
// exactly once. Used by the integration test (10 rounds) and the soak script (200 rounds).

import { seededRandom } from './random.ts';
import { type RunningServer, startServer } from './server.ts';

export interface CrashOptions {
  rounds: number;
  seed: number;
  clients: number;
  dataDir: string;
  /** Settings of the server, e.g. DURABILITY=os. */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export async function runCrashRounds(options: CrashOptions): Promise<{ acked: number }> {
  const random = seededRandom(options.seed);
  const acked = new Set<string>();
  for (let round = 0; round < options.rounds; round++) {
    const server = await startServer(options.dataDir, options.env);
    // SIGKILLed on every path, so a round that throws (a lost event, a client's error) leaves
    // no server running on the data directory the caller then removes.
    try {
      await crashRound(server, round, options.clients, random, acked);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
    }
    options.log?.(`round ${round + 1}/${options.rounds}: ${acked.size} acknowledged so far`);
  }
  const final = await startServer(options.dataDir, { QUERY_ROWS_MAX: '10000000' });
  try {
    await expectStored(final.url, [...acked]);
    await expectStoredOnce(final.url, acked);
  } finally {
    final.kill('SIGTERM');
    await final.exited;
  }
  return { acked: acked.size };
}

/** One round: checks the earlier rounds' ids, then kills the server amid traffic. */
async function crashRound(
  server: RunningServer,
  round: number,
  clients: number,
  random: () => number,
  acked: Set<string>,
): Promise<void> {
  // Everything acknowledged in earlier rounds must be there after the restart.
  await expectStored(server.url, [...acked]);
  let stop = false;
  const sending = Array.from({ length: clients }, (_, c) =>
    client(
      server.url,
      `r${round}-c${c}`,
      () => stop,
      random() < 0.5 ? 1 : 1 + Math.floor(random() * 20),
      acked,
    ),
  );
  // The moment is random within the traffic, measured from the round's first acknowledgment,
  // so a slow start on a busy machine never makes every round a crash before any ack.
  await firstAckAfter(acked, acked.size);
  await Bun.sleep(Math.floor(random() * 300));
  server.kill('SIGKILL');
  stop = true;
  await server.exited;
  await Promise.all(sending);
}

/** How long a round waits for its first acknowledgment before it kills the server anyway. */
const FIRST_ACK_WAIT_MS = 5000;

/** Resolves once `acked` holds more than `before` ids, or after FIRST_ACK_WAIT_MS. */
async function firstAckAfter(acked: Set<string>, before: number): Promise<void> {
  const deadline = performance.now() + FIRST_ACK_WAIT_MS;
  while (acked.size === before && performance.now() < deadline) await Bun.sleep(2);
}

/** One client: posts unique ids in batches of `size` until stopped; records what was acked. */
async function client(
  url: string,
  prefix: string,
  stopped: () => boolean,
  size: number,
  acked: Set<string>,
): Promise<void> {
  for (let n = 0; !stopped(); n++) {
    const ids = Array.from({ length: size }, (_, i) => `${prefix}-${n}-${i}`);
    const events = ids.map((id) => ({ event_id: id, name: 'crash_test', tenant_id: 'crash' }));
    try {
      const res =
        size === 1
          ? await post(`${url}/api/v1/events`, events[0])
          : await post(`${url}/api/v1/events/batch`, { events });
      if (res.status === 202) for (const id of ids) acked.add(id);
      else if (res.status !== 503)
        throw new Error(`unexpected status ${res.status}: ${await res.text()}`);
    } catch (error) {
      if (stopped() || isConnectionError(error)) return;
      throw error;
    }
  }
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function isConnectionError(error: unknown): boolean {
  const text = String((error as { code?: string }).code ?? error);
  return /ECONNRESET|ECONNREFUSED|socket|closed|ConnectionRefused|EPIPE/i.test(text);
}

/** Re-sends every id: each must come back as a duplicate (it is stored), none as new. */
async function expectStored(url: string, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) {
    const events = ids
      .slice(i, i + 5000)
      .map((id) => ({ event_id: id, name: 'crash_test', tenant_id: 'crash' }));
    const res = await post(`${url}/api/v1/events/batch`, { events });
    const body = (await res.json()) as {
      accepted: number;
      results: { event_id: string; status: string }[];
    };
    if (res.status !== 202 || body.accepted !== 0) {
      const lost =
        body.results?.filter((r) => r.status === 'accepted').map((r) => r.event_id) ?? [];
      throw new Error(
        `acknowledged events were lost (status ${res.status}): ${lost.slice(0, 10).join(', ')}`,
      );
    }
  }
}

/** Through SQL: no event_id is stored twice, and every acknowledged one is stored. */
async function expectStoredOnce(url: string, acked: Set<string>): Promise<void> {
  const res = await post(`${url}/api/v1/query?tenant_id=crash`, {
    sql: 'SELECT event_id, count(*) AS n FROM events GROUP BY event_id',
  });
  const body = (await res.json()) as { rows: [string, number][]; truncated: boolean };
  if (res.status !== 200) throw new Error(`query failed: ${JSON.stringify(body)}`);
  const counts = new Map(body.rows);
  for (const [id, n] of counts) if (n > 1) throw new Error(`${id} is stored ${n} times`);
  for (const id of acked) {
    if (counts.get(id) !== 1) throw new Error(`acknowledged ${id} is not stored`);
  }
}
