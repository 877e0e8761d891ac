// Builds the real app over a real engine and store in a temp dir, for socket-free HTTP tests.

import { createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import {
  type Clock,
  createLogger,
  defaultTunables,
  type Logger,
  ManualClock,
} from '../../src/core/index.ts';
import {
  type Engine,
  type EngineOptions,
  openEngine,
  RetentionPass,
} from '../../src/engine/index.ts';
import { createApp, openTenancy } from '../../src/http/index.ts';
import { type PageBounds, queryLimits } from '../../src/query/index.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { makeTempDir } from './temp-dir.ts';

export const T0 = Date.parse('2026-11-25T12:00:00Z');

export interface TestApp {
  app: ReturnType<typeof createApp>;
  engine: Engine;
  /** The retention pass over this engine, as main.ts builds it (RETENTION_DAYS: see limits). */
  retention: RetentionPass;
  clock: ManualClock;
  dataDir: string;
  logs: string[];
  /**
   * Closes the engine and opens a new one over the same directory (a clean restart);
   * `whileStopped` runs in between, e.g. to leave the files as a crash would.
   */
  restart(whileStopped?: () => void): Promise<void>;
  close(): Promise<void>;
  /** Begins a shutdown as main.ts does on a signal: the app stops taking work. */
  stopAccepting(): void;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
  /** Stored events of a tenant, counted through the store (segments ∪ hot). */
  count(tenant?: string): Promise<number>;
}

/** Stored events of a tenant, counted through the store (segments ∪ hot). */
export async function countEvents(source: EventSource, tenant: string): Promise<number> {
  const snapshot = await source.snapshot(tenant);
  try {
    const r = await snapshot.connection.runAndReadAll(
      `SELECT count(*) AS n FROM ${snapshot.from} AS e`,
      snapshot.params,
    );
    return Number((r.getRowObjectsJS()[0] as { n: bigint }).n);
  } finally {
    snapshot.release();
  }
}

/**
 * Waits until the live counters of `tenants`' actors are rebuilt from the store. A new actor's
 * rebuild reads the store after its first 202 (ingest does not wait for it), and so holds
 * snapshots and segment files a moment longer: a test that then replaces, counts or deletes
 * them waits for it first.
 */
export async function countersBuilt(app: { engine: Engine }, ...tenants: string[]) {
  for (const tenant of tenants) await app.engine.registry.peek(tenant)?.whenReady();
}

export function engineOptions(
  dataDir: string,
  clock: Clock,
  overrides: Partial<EngineOptions> = {},
): EngineOptions {
  return {
    ...defaultTunables,
    dataDir,
    durability: 'fsync',
    diskFreeBytesMin: 0,
    duckdbMemoryBytesMax: 256 * 1024 * 1024,
    storeIp: false,
    clock,
    rollupLimits: { namesMax: 100, pathsMax: 100 },
    onFatal: (error: unknown) => {
      throw error;
    },
    ...overrides,
  };
}

/** The HTTP options of a test app that tests change (main.ts reads them from the config). */
export interface TestQueryLimits {
  queryTimeoutMs?: number;
  /** TRUST_PROXY: the client address from X-Forwarded-For (false by default). */
  trustProxy?: boolean;
  /** RETENTION_DAYS (0, forever, by default). */
  retentionDays?: number;
  /** How long a body may take to arrive (requestLimits.bodyReadTimeoutMs by default). */
  bodyReadTimeoutMs?: number;
}

/**
 * Export pages of test apps: 1,000 events, so that a test of several pages sends thousands of
 * events, not tens of thousands (queryLimits' 20,000 and 8 MiB are tested in
 * test/query/export-events.test.ts).
 */
export const TEST_EXPORT_PAGE: PageBounds = { rows: 1_000, bytes: queryLimits.exportPageBytes };

export async function makeTestApp(
  overrides: Partial<EngineOptions> = {},
  limits: TestQueryLimits = {},
): Promise<TestApp> {
  const { dir, remove } = makeTempDir();
  const clock = new ManualClock(T0);
  const logs: string[] = [];
  const log: Logger = createLogger('info', (line) => logs.push(line));
  let accepting = true;
  const build = async () => {
    const engine = await openEngine(engineOptions(dir, clock, overrides));
    // As main.ts does in AUTH_MODE=open: account routes mounted, tenancy open.
    const auth = createAuth({
      db: engine.store.sqlite,
      clock,
      options: { passwordCost: { memoryCost: 1024, timeCost: 1 } },
      tenantHoldsEvents: storedEventsProbe(engine.store),
    });
    const retention = new RetentionPass(engine.store, {
      defaultDays: limits.retentionDays ?? 0,
      projectDays: (tenant) => auth.projects.retentionDaysOf(tenant),
      clock,
      log,
      onDaysDropped: (tenant) => engine.registry.rebuild(tenant),
    });
    const app = createApp({
      engine,
      auth,
      retention,
      tenancy: openTenancy,
      clock,
      log,
      options: {
        trustProxy: limits.trustProxy ?? false,
        retryAfterSeconds: 1,
        queryTimeoutMs: limits.queryTimeoutMs ?? 10_000,
        queryRowsMax: 10_000,
        exportPage: TEST_EXPORT_PAGE,
        ...(limits.bodyReadTimeoutMs === undefined
          ? {}
          : { bodyReadTimeoutMs: limits.bodyReadTimeoutMs }),
      },
      isAccepting: () => accepting,
    });
    return { engine, app, retention };
  };
  let current = await build();
  const handle = (request: Request) => current.app.handle(request);
  return {
    get app() {
      return current.app;
    },
    get engine() {
      return current.engine;
    },
    get retention() {
      return current.retention;
    },
    clock,
    dataDir: dir,
    logs,
    async restart(whileStopped) {
      await current.engine.close();
      whileStopped?.();
      current = await build();
    },
    stopAccepting() {
      accepting = false;
    },
    async close() {
      accepting = false;
      await current.engine.close();
      remove();
    },
    post(path, body, headers = {}) {
      const isRaw = typeof body === 'string' || body instanceof Uint8Array;
      return handle(
        new Request(`http://localhost${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: isRaw ? (body as BodyInit) : JSON.stringify(body),
        }),
      );
    },
    get(path) {
      return handle(new Request(`http://localhost${path}`));
    },
    count: (tenant = 'default') => countEvents(current.engine.store, tenant),
  };
}
