// Test support for live/: the real app (createApp + live routes + dashboard) over a real engine
// in a temp dir, listening on 127.0.0.1 port 0 in this process; a WebSocket client that
// collects messages; and a raw TCP WebSocket client that can stop reading.

import { Value } from '@sinclair/typebox/value';
import { type AnyElysia, Elysia } from 'elysia';
import type { Auth } from '../../src/auth/index.ts';
import type { Clock, TenantResolver } from '../../src/core/index.ts';
import { createLogger, type LogLevel, systemClock } from '../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { createApp, listenEarly, openTenancy } from '../../src/http/index.ts';
import {
  defaultLiveLimits,
  type LiveHub as Hub,
  LiveHub,
  type LiveHubDeps,
  type LiveLimits,
  LiveServerMessage,
  type LiveServerMessageBody,
  liveSocketSettings,
} from '../../src/live/index.ts';
import { engineOptions } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

export interface LiveServer {
  url: string;
  wsUrl: string;
  port: number;
  hub: Hub;
  engine: Engine;
  logs: string[];
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface LiveServerOptions {
  /** The tenancy, given the engine (the auth module keeps its users in the engine's store). */
  tenancy?: (engine: Engine) => TenantResolver;
  /** The auth module (its tenancy, and the account routes: login, refresh), given the engine. */
  auth?: (engine: Engine) => Auth;
  limits?: Partial<LiveLimits>;
  allowedOrigins?: string[];
  clock?: Clock;
  engine?: Partial<EngineOptions>;
  /** A hub of another class (the benchmark records its sockets). */
  makeHub?: (deps: LiveHubDeps) => Hub;
  /** The server's log level (`warn` by default: no request lines). */
  logLevel?: LogLevel;
  /** More routes on the same app, before it listens. */
  routes?: (hub: Hub, engine: Engine) => AnyElysia;
  /**
   * Served as main.ts serves the app (listenEarly), with Bun's idle timeout at this many
   * seconds, instead of by the app's own listen.
   */
  idleTimeoutS?: number;
}

export async function startLiveServer(options: LiveServerOptions = {}): Promise<LiveServer> {
  const { dir, remove } = makeTempDir('tally-live-');
  const clock = options.clock ?? systemClock;
  const logs: string[] = [];
  const log = createLogger(options.logLevel ?? 'warn', (line) => logs.push(line));
  const engine = await openEngine(engineOptions(dir, clock, options.engine));
  const auth = options.auth?.(engine);
  const tenancy = auth?.tenancy ?? options.tenancy?.(engine) ?? openTenancy;
  const limits = { ...defaultLiveLimits, ...options.limits };
  const deps = { source: engine.registry, clock, limits, log };
  const hub = options.makeHub?.(deps) ?? new LiveHub(deps);
  const allowedOrigins = options.allowedOrigins ?? [];
  const httpOptions = {
    trustProxy: false,
    retryAfterSeconds: 1,
    queryTimeoutMs: 10_000,
    queryRowsMax: 1000,
    liveAllowedOrigins: allowedOrigins,
  };
  const appDeps = { engine, auth, tenancy, clock, log, live: hub, options: httpOptions };
  const app = createApp({ ...appDeps, isAccepting: () => true }).use(
    options.routes?.(hub, engine) ?? new Elysia(),
  );
  const stop = listened(app, liveSocketSettings(limits), options.idleTimeoutS);
  const port = app.server?.port;
  if (port === undefined) throw new Error('the test server did not start');
  hub.start();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    hub,
    engine,
    logs,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    async close() {
      hub.stop();
      await stop();
      await engine.close();
      remove();
    },
  };
}

/**
 * `app` listening on 127.0.0.1 port 0, by its own listen or, given an idle timeout, as main.ts
 * serves it; what stops it.
 */
function listened(
  app: AnyElysia,
  socket: ReturnType<typeof liveSocketSettings>,
  idleTimeoutS: number | undefined,
): () => Promise<void> {
  if (idleTimeoutS === undefined) {
    app.listen({ hostname: '127.0.0.1', port: 0, websocket: socket });
    return async () => {
      await app.stop(true);
    };
  }
  const listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket,
    retryAfterSeconds: 1,
    idleTimeoutS,
  });
  listener.serve(app);
  return () => listener.server.stop(true);
}

/** A WebSocket client that keeps every message, checked against the published schema. */
export class LiveClient {
  readonly messages: LiveServerMessageBody[] = [];
  readonly invalid: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => {
      const value = JSON.parse(String(event.data)) as unknown;
      if (Value.Check(LiveServerMessage, value)) this.messages.push(value);
      else this.invalid.push(value);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    );
  }

  static async connect(url: string, init: Bun.WebSocketOptions = {}): Promise<LiveClient> {
    // Bun takes an options object here (headers!); the DOM lib only knows protocols.
    const ws = new WebSocket(url, init as unknown as string[]);
    const client = new LiveClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)));
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message from index `from` on that matches, waiting up to `timeoutMs`. */
  async next<T extends LiveServerMessageBody>(
    match: (m: LiveServerMessageBody) => m is T,
    timeoutMs = 2000,
    from = 0,
  ): Promise<{ message: T; index: number; at: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex((m, i) => i >= from && match(m));
      if (index !== -1) return { message: this.messages[index] as T, index, at: performance.now() };
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching live message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

export const isSnapshot = (
  m: LiveServerMessageBody,
): m is Extract<LiveServerMessageBody, { type: 'snapshot' }> => m.type === 'snapshot';
export const isHeartbeat = (
  m: LiveServerMessageBody,
): m is Extract<LiveServerMessageBody, { type: 'heartbeat' }> => m.type === 'heartbeat';
export const isError = (
  m: LiveServerMessageBody,
): m is Extract<LiveServerMessageBody, { type: 'error' }> => m.type === 'error';

/** The status of a WebSocket upgrade request, for handshakes the server refuses. */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url.replace(/^ws/, 'http'), {
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      ...headers,
    },
  });
  const retryAfter = response.headers.get('retry-after');
  return { status: response.status, body: await response.text(), retryAfter };
}
