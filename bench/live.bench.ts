// The live fan-out benchmark (`bun run bench:live`): 10,000 WebSocket subscribers on one tenant
// of the real server (engine, hub, routes) in its own process, held by two client processes.
// Measures the lag from an ingest ack to the first message reflecting it (isolated events and a
// steady stream), and fan-out bursts through one topic publish (what the hub does) against a
// per-socket send loop over the same sockets. Roles: orchestrator, --role=server, --role=clients.
// Sizes (the defaults are README's run): `--subscribers=N` (10,000; even, split over the two
// client processes), `--probes=N` isolated events (20) and `--stream=S` seconds of steady
// stream (10). Results go to bench/out/live-results.json (BENCH_OUT_DIR/ if set).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Elysia } from 'elysia';
import type { Engine } from '../src/engine/index.ts';
import {
  LiveHub,
  type LivePublisher,
  type LiveSocket,
  type LiveStats,
  renderSnapshotContent,
  snapshotMessage,
} from '../src/live/index.ts';
import { startLiveServer } from '../test/live/support.ts';
import { describeMachine } from './support/machine.ts';
import { cpuSeconds, OUT_DIR } from './support/processes.ts';
import { formatCount, formatFixed, renderTable } from './support/table.ts';

const CLIENT_PROCESSES = 2;
const CONNECT_BATCH = 250;
const PROBE_GAP_MS = 500;
const STREAM_BATCH_EVENTS = 10;
const STREAM_GAP_MS = 20;
const BURST_ROUNDS = 20;
const FD_LIMIT_WANTED = 65_536;
const OUT_FILE = path.join(OUT_DIR, 'live-results.json');
const BURST_TENANT = '__burst__';
const BURST_MARK = `"tenant":"${BURST_TENANT}"`;
const AT = /^\{"type":"snapshot","at":(\d+)/;
const EVENTS_24H = /"24h":\{"events":(\d+)/;

const now = () => performance.timeOrigin + performance.now();
/** This process's soft limit of open files, from /proc/self/limits. */
const openFilesLimit = () =>
  Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1]);
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    url: { type: 'string' },
    count: { type: 'string' },
    subscribers: { type: 'string', default: '10000' },
    probes: { type: 'string', default: '20' },
    stream: { type: 'string', default: '10' },
  },
});
/** `--name`'s whole number from `min` to `max`. */
function option(name: 'subscribers' | 'probes' | 'stream', min: number, max: number): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name}=${values[name]}: give a whole number from ${min} to ${max}`);
  }
  return n;
}
/** Each subscriber is an open file of its client process, whose limit is at most 65,536. */
const SUBSCRIBERS = option('subscribers', CLIENT_PROCESSES, CLIENT_PROCESSES * FD_LIMIT_WANTED);
if (SUBSCRIBERS % CLIENT_PROCESSES !== 0) {
  throw new Error(`--subscribers=${SUBSCRIBERS}: give a multiple of ${CLIENT_PROCESSES}`);
}
const PROBES = option('probes', 1, 1000);
const STREAM_MS = option('stream', 1, 600) * 1000;

/** The real hub, remembering its sockets so the baseline can loop over the same ones. */
class RecordingHub extends LiveHub {
  readonly sockets = new Set<Bun.ServerWebSocket<unknown>>();
  override open(socket: LiveSocket, tenant: string, publisher: LivePublisher): boolean {
    const opened = super.open(socket, tenant, publisher);
    if (opened) this.sockets.add(socket as Bun.ServerWebSocket<unknown>);
    return opened;
  }
  override close(socket: LiveSocket): void {
    this.sockets.delete(socket as Bun.ServerWebSocket<unknown>);
    super.close(socket);
  }
}

async function serverRole(): Promise<void> {
  const server = await startLiveServer({
    limits: { subscribersPerTenantMax: SUBSCRIBERS },
    makeHub: (deps) => new RecordingHub(deps),
    routes: (hub, engine) => benchRoutes(hub as RecordingHub, engine.registry),
  });
  line({ kind: 'ready', port: server.port, pid: process.pid, fdLimit: openFilesLimit() });
}

/** POST /bench/burst?mode=publish|loop: BURST_ROUNDS messages to every subscriber. */
function benchRoutes(hub: RecordingHub, registry: Engine['registry']) {
  return new Elysia()
    .get('/bench/stats', () => hub.stats())
    .post('/bench/burst', ({ query, server }) => {
      const sockets = [...hub.sockets];
      const topic = sockets[0]?.subscriptions[0];
      const actor = registry.peek('default');
      if (topic === undefined || actor === undefined || server === null) return { error: 'idle' };
      const snapshot = actor.rollups.snapshot(Date.now());
      const content = renderSnapshotContent(BURST_TENANT, snapshot, null, 50);
      const started = now();
      for (let round = 0; round < BURST_ROUNDS; round++) {
        const text = snapshotMessage(Date.now(), content);
        if (query.mode === 'publish') server.publish(topic, text);
        else for (const ws of sockets) ws.send(text);
      }
      return { startedAt: started, callMs: now() - started, bytes: content.length + 30 };
    });
}

interface Track {
  /** The first snapshot (the answer to subscribe) came. */
  subscribed: boolean;
  times: number[];
  counts: number[];
  burstLast: number;
  burstSeen: number;
}

async function clientsRole(url: string, count: number): Promise<void> {
  const tracks: Track[] = [];
  const fanout: number[] = [];
  const burstLags: number[] = [];
  const open = (track: Track) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => ws.send('{"type":"subscribe"}');
      ws.onerror = () => reject(new Error('a subscriber could not connect'));
      ws.onmessage = (event) => {
        const at = now();
        // Cheaper than JSON.parse on 10,000 sockets; the fields are at known places.
        const text = String(event.data);
        if (!text.startsWith('{"type":"snapshot"')) return;
        const sentAt = Number(AT.exec(text)?.[1]);
        if (text.includes(BURST_MARK)) {
          track.burstSeen++;
          track.burstLast = at;
          burstLags.push(at - sentAt);
          return;
        }
        if (track.subscribed) fanout.push(at - sentAt);
        track.subscribed = true;
        resolve();
        track.times.push(at);
        track.counts.push(Number(EVENTS_24H.exec(text)?.[1]));
      };
    });
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, () => {
      const track: Track = { subscribed: false, times: [], counts: [], burstLast: 0, burstSeen: 0 };
      tracks.push(track);
      return open(track);
    });
    await Promise.all(batch);
  }
  line({ kind: 'ready', connected: tracks.length });
  for await (const input of console) {
    const { acks } = JSON.parse(input) as { acks: [number, number][] };
    line({ kind: 'report', ...clientReport(tracks, acks, fanout, burstLags) });
    fanout.length = 0;
    burstLags.length = 0;
    for (const t of tracks) Object.assign(t, { times: [], counts: [], burstSeen: 0, burstLast: 0 });
  }
}

/** Per ack (count, time): when each socket first saw a count at least that high. */
function clientReport(
  tracks: Track[],
  acks: [number, number][],
  fanout: number[],
  bursts: number[],
) {
  const ackLags: number[] = [];
  let missing = 0;
  for (const t of tracks) {
    let i = 0;
    for (const [count, ackAt] of acks) {
      while (i < t.counts.length && (t.counts[i] as number) < count) i++;
      if (i === t.counts.length) missing++;
      else ackLags.push((t.times[i] as number) - ackAt);
    }
  }
  const seen = tracks.reduce((n, t) => n + t.burstSeen, 0);
  const last = Math.max(...tracks.map((t) => t.burstLast));
  const q = { ackLags: quantize(ackLags), fanout: quantize(fanout), bursts: quantize(bursts) };
  return { ...q, missing, seen, last };
}

const quantize = (xs: number[]) => xs.map((x) => Math.round(x * 10) / 10);

interface Child {
  proc: Bun.Subprocess<'pipe', 'pipe', 'inherit'>;
  next(): Promise<Record<string, unknown>>;
}

/** Spawns a role under a raised open-file limit (to the hard limit when 65,536 is refused). */
function spawnRole(args: string[]): Child {
  const script = `ulimit -n ${FD_LIMIT_WANTED} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const proc = Bun.spawn(['sh', '-c', script, 'sh', process.execPath, import.meta.path, ...args], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const reader = proc.stdout.getReader();
  let buffered = '';
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl !== -1) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (text.startsWith('{')) return JSON.parse(text);
        continue;
      }
      const { done, value } = await reader.read();
      if (done) throw new Error(`a ${args.join(' ')} process exited early`);
      buffered += new TextDecoder().decode(value);
    }
  };
  return { proc, next };
}

async function report(clients: Child[], acks: [number, number][]) {
  for (const c of clients) {
    c.proc.stdin.write(`${JSON.stringify({ acks })}\n`);
    c.proc.stdin.flush();
  }
  type Part = ReturnType<typeof clientReport>;
  const parts = (await Promise.all(clients.map((c) => c.next()))) as unknown as Part[];
  const merged = (key: 'ackLags' | 'fanout' | 'bursts') =>
    parts.flatMap((p) => p[key]).sort((a, b) => a - b);
  return {
    ackLags: merged('ackLags'),
    fanout: merged('fanout'),
    bursts: merged('bursts'),
    missing: parts.reduce((n, p) => n + p.missing, 0),
    seen: parts.reduce((n, p) => n + p.seen, 0),
    last: Math.max(...parts.map((p) => p.last)),
  };
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);

/** Ingests `n` page views; resolves on the (fsync'd) 202. */
async function ingest(base: string, n: number) {
  const events = Array.from({ length: n }, (_, i) => ({ name: 'page_view', path: `/p${i % 7}` }));
  const res = await fetch(`${base}/api/v1/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
}

const statsOf = async (base: string) =>
  (await (await fetch(`${base}/bench/stats`)).json()) as LiveStats;

async function runPhases(base: string, clients: Child[]) {
  let total = 0;
  const probeAcks: [number, number][] = [];
  for (let i = 0; i < PROBES; i++) {
    await ingest(base, 1);
    probeAcks.push([++total, now()]);
    await Bun.sleep(PROBE_GAP_MS);
  }
  await Bun.sleep(500);
  const probes = await report(clients, probeAcks);
  const before = await statsOf(base);
  const streamAcks: [number, number][] = [];
  const until = performance.now() + STREAM_MS;
  while (performance.now() < until) {
    await ingest(base, STREAM_BATCH_EVENTS);
    total += STREAM_BATCH_EVENTS;
    streamAcks.push([total, now()]);
    await Bun.sleep(STREAM_GAP_MS);
  }
  await Bun.sleep(1000);
  const stream = await report(clients, streamAcks);
  const after = await statsOf(base);
  const burst = async (mode: string) => {
    const res = await fetch(`${base}/bench/burst?mode=${mode}`, { method: 'POST' });
    const server = (await res.json()) as { startedAt: number; callMs: number; bytes: number };
    await Bun.sleep(3000);
    return { server, clients: await report(clients, []) };
  };
  const publish = await burst('publish');
  const loop = await burst('loop');
  const end = await statsOf(base);
  const publishes = after.published - before.published;
  return { probes, stream, publishes, publish, loop, slowClosed: end.slowConsumersClosed };
}

type Results = Awaited<ReturnType<typeof runPhases>>;

const lagOf = (xs: number[]) => ({
  samples: xs.length,
  p50Ms: pct(xs, 0.5),
  p99Ms: pct(xs, 0.99),
  maxMs: xs.at(-1) ?? Number.NaN,
});

function burstOf(b: Results['publish']) {
  const deliveries = b.clients.seen;
  return {
    deliveries,
    callMs: b.server.callMs,
    perSecondServer: (deliveries / b.server.callMs) * 1000,
    perSecondReceived: (deliveries / (b.clients.last - b.server.startedAt)) * 1000,
    p99LagMs: pct(b.clients.bursts, 0.99),
  };
}

/** Percentiles and rates of a run: what is printed and written to bench/out. */
function summarize(r: Results) {
  return {
    isolated: lagOf(r.probes.ackLags),
    stream: lagOf(r.stream.ackLags),
    fanout: lagOf(r.stream.fanout),
    streamPublishes: r.publishes,
    slowConsumersClosed: r.slowClosed,
    missing: r.probes.missing + r.stream.missing,
    messageBytes: r.publish.server.bytes,
    publish: burstOf(r.publish),
    loop: burstOf(r.loop),
  };
}

function printSummary(s: ReturnType<typeof summarize>): void {
  const ms = (x: number) => formatFixed(x, 1);
  const lag = (label: string, l: ReturnType<typeof lagOf>) => [
    label,
    formatCount(l.samples),
    ...[l.p50Ms, l.p99Ms, l.maxMs].map(ms),
  ];
  console.log(
    renderTable(
      ['lag (ms)', 'samples', 'p50', 'p99', 'max'],
      [
        lag('ack → first message, isolated events', s.isolated),
        lag('ack → first message, steady stream', s.stream),
        lag('snapshot taken → received (stream)', s.fanout),
      ],
    ),
  );
  const deliveries = formatCount(s.fanout.samples);
  console.log(`\nstream: ${s.streamPublishes} publishes, ${deliveries} deliveries`);
  console.log(`missing: ${s.missing}; slow consumers closed: ${s.slowConsumersClosed}`);
  const burst = (label: string, b: ReturnType<typeof burstOf>) => [
    label,
    formatCount(b.deliveries),
    formatFixed(b.callMs, 1),
    formatCount(b.perSecondServer),
    formatCount(b.perSecondReceived),
    formatFixed(b.p99LagMs, 1),
  ];
  console.log(`\nbursts: ${BURST_ROUNDS} messages of ${s.messageBytes} bytes to each subscriber\n`);
  console.log(
    renderTable(
      ['fan-out', 'deliveries', 'call ms', 'per s (server)', 'per s (received)', 'p99 lag ms'],
      [burst('topic publish (hub)', s.publish), burst('per-socket send loop', s.loop)],
    ),
  );
}

async function orchestrate(): Promise<void> {
  const started = performance.now();
  const machine = { ...describeMachine('-'), wrk: undefined };
  const server = spawnRole(['--role=server', `--subscribers=${SUBSCRIBERS}`]);
  const ready = (await server.next()) as { port: number; pid: number; fdLimit: number };
  const clients = Array.from({ length: CLIENT_PROCESSES }, () =>
    spawnRole([
      '--role=clients',
      `--url=ws://127.0.0.1:${ready.port}/api/v1/live`,
      `--count=${SUBSCRIBERS / CLIENT_PROCESSES}`,
    ]),
  );
  try {
    await Promise.all(clients.map((c) => c.next()));
    const connectS = (performance.now() - started) / 1000;
    console.log(`${SUBSCRIBERS} subscribers connected ${formatFixed(connectS, 1)} s after start\n`);
    const summary = summarize(await runPhases(`http://127.0.0.1:${ready.port}`, clients));
    printSummary(summary);
    const cpu = {
      server: cpuSeconds(ready.pid),
      clients: clients.reduce((sum, c) => sum + cpuSeconds(c.proc.pid), 0),
    };
    const elapsedS = (performance.now() - started) / 1000;
    console.log(
      `\nCPU s: server ${formatFixed(cpu.server, 1)}, clients ${formatFixed(cpu.clients, 1)}`,
    );
    console.log(`machine: ${JSON.stringify(machine)}; open files limit ${ready.fdLimit}`);
    console.log(`elapsed ${formatFixed(elapsedS, 1)} s`);
    const date = new Date().toISOString();
    const fdLimit = ready.fdLimit;
    const out = {
      date,
      machine,
      fdLimit,
      subscribers: SUBSCRIBERS,
      connectS,
      elapsedS,
      cpu,
      summary,
    };
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const c of [...clients, server]) c.proc.kill();
  }
}

if (values.role === 'server') await serverRole();
else if (values.role === 'clients') await clientsRole(values.url as string, Number(values.count));
else await orchestrate();
