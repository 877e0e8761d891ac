// In-memory fakes of the hub's surroundings for tests on a manual clock: sockets that record
// what they are sent (checked against the message schema), a publisher that delivers to them
// as Bun does, actors with real rollups, and a source that records watched tenants. `HubBench`
// holds one set and the helpers the hub tests share.

import { expect } from 'bun:test';
import { Value } from '@sinclair/typebox/value';
import { createLogger, ManualClock } from '../../src/core/index.ts';
import { type RollupEvent, TenantRollups } from '../../src/engine/rollups.ts';
import {
  defaultLiveLimits,
  type LiveActor,
  LiveHub,
  type LiveLimits,
  LiveServerMessage,
  type LiveServerMessageBody,
  type LiveSocket,
  type LiveSource,
} from '../../src/live/index.ts';

export const T0 = Date.parse('2026-11-25T12:00:00Z');

export class FakeSocket implements LiveSocket {
  sent: LiveServerMessageBody[] = [];
  topics = new Set<string>();
  buffered = 0;
  closed: { code: number; reason: string } | null = null;
  readyState = 1;
  /** False: a client that reads nothing, so what it is sent stays queued (`buffered`). */
  reads = true;
  send(data: string): number {
    if (this.readyState !== 1) return 0; // dropped, as Bun does
    this.take(data);
    return this.reads ? data.length : -1;
  }
  /** What a send or a publish hands the socket. */
  take(data: string): void {
    this.sent.push(parse(data));
    if (!this.reads) this.buffered += Buffer.byteLength(data);
  }
  subscribe(topic: string) {
    this.topics.add(topic);
  }
  unsubscribe(topic: string) {
    this.topics.delete(topic);
  }
  getBufferedAmount() {
    return this.buffered;
  }
  close(code = 1000, reason = '') {
    this.closed = { code, reason };
    this.readyState = 3;
    this.topics.clear();
  }
}

export function parse(data: string): LiveServerMessageBody {
  const value: unknown = JSON.parse(data);
  if (!Value.Check(LiveServerMessage, value)) throw new Error(`off-schema message: ${data}`);
  return value;
}

/** Records publishes and delivers them to the subscribed fake sockets, as Bun does. */
export class FakePublisher {
  published: { topic: string; message: LiveServerMessageBody }[] = [];
  sockets: FakeSocket[] = [];
  publish(topic: string, data: string): number {
    this.published.push({ topic, message: parse(data) });
    for (const s of this.sockets) if (s.topics.has(topic)) s.take(data);
    return data.length;
  }
}

export class FakeActor implements LiveActor {
  readonly rollups: TenantRollups;
  constructor(namesMax = 100) {
    this.rollups = new TenantRollups({ namesMax, pathsMax: 100 });
  }
  ready: Promise<void> = Promise.resolve();
  whenReady() {
    return this.ready;
  }
}

export class FakeSource implements LiveSource {
  actors = new Map<string, FakeActor>();
  created = 0;
  peek(tenant: string) {
    return this.actors.get(tenant);
  }
  actorFor(tenant: string) {
    let actor = this.actors.get(tenant);
    if (actor === undefined) {
      actor = new FakeActor();
      this.created++;
      this.actors.set(tenant, actor);
    }
    return actor;
  }
  actorForWatch(tenant: string) {
    return this.actorFor(tenant);
  }
  /** Whether a new actor fits without evicting another. */
  room = true;
  actorIfRoom(tenant: string) {
    return this.actors.get(tenant) ?? (this.room ? this.actorFor(tenant) : null);
  }
  watched = new Set<string>();
  watch(tenant: string) {
    this.watched.add(tenant);
  }
  unwatch(tenant: string) {
    this.watched.delete(tenant);
  }
  failed = new Set<LiveActor>();
  rebuildFailed(actor: LiveActor) {
    return this.failed.has(actor);
  }
}

/** A clock, source and publisher, and the helpers to drive a hub with them. */
export class HubBench {
  readonly clock = new ManualClock(T0);
  readonly source = new FakeSource();
  readonly publisher = new FakePublisher();
  private events = 0;
  private sockets = 0;

  /** Lines the hubs made here logged (warnings and errors). */
  readonly logs: { msg: string; [field: string]: unknown }[] = [];

  makeHub(limits: Partial<LiveLimits> = {}): LiveHub {
    const { source, clock } = this;
    const log = createLogger('warn', (line) => this.logs.push(JSON.parse(line)));
    return new LiveHub({ source, clock, limits: { ...defaultLiveLimits, ...limits }, log });
  }

  /** Counts one event received now. */
  ingest(tenant: string, name: string, path: string | null = null, value: number | null = null) {
    const n = ++this.events;
    const now = this.clock.now();
    const e: RollupEvent = {
      event_id: `e${n}`,
      name,
      path,
      visitor_id: `v${n % 3}`,
      is_bot: false,
      value,
      received_at: now,
      timestamp: now,
    };
    this.source.actorFor(tenant).rollups.apply([e], now);
  }

  /** Opens a socket and subscribes it (to `names`, else all). */
  async join(
    hub: LiveHub,
    tenant = 'acme',
    names?: string[],
    stillAuthorized: () => boolean = () => true,
    key = `credential ${++this.sockets}`,
  ): Promise<FakeSocket> {
    const socket = new FakeSocket();
    this.publisher.sockets.push(socket);
    expect(hub.open(socket, tenant, this.publisher, { key, stillAuthorized })).toBe(true);
    await hub.receive(
      socket,
      names === undefined ? { type: 'subscribe' } : { type: 'subscribe', names },
    );
    return socket;
  }
}

export const snapshots = (s: FakeSocket) => s.sent.filter((m) => m.type === 'snapshot');
export const events1m = (m: LiveServerMessageBody | undefined) =>
  m?.type === 'snapshot' ? m.windows['1m'].events : null;
