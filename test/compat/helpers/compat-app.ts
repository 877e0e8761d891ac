// The app with the compatibility routes beside it, over a real engine in a temp dir, for
// socket-free tests: `new Elysia().use(createApp(deps)).use(compatRoutes(deps))`.

import { Elysia } from 'elysia';
import {
  createLogger,
  type Logger,
  ManualClock,
  type TenantResolver,
} from '../../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../../src/engine/index.ts';
import { compatRoutes } from '../../../src/http/compat/index.ts';
import { type AppDeps, createApp, openTenancy } from '../../../src/http/index.ts';
import { engineOptions, T0 } from '../../helpers/app.ts';
import { makeTempDir } from '../../helpers/temp-dir.ts';

export { T0 };

export interface CompatApp {
  engine: Engine;
  clock: ManualClock;
  dataDir: string;
  deps: AppDeps;
  handle(request: Request): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** GET and parse JSON, failing the test on a non-200. */
  getJson<T = Record<string, unknown>>(path: string): Promise<T>;
  /**
   * Closes the engine and opens a new one over the same directory (a clean restart);
   * `whileStopped` runs in between, e.g. to leave the files as a crash would.
   */
  restart(whileStopped?: () => void): Promise<void>;
  close(): Promise<void>;
}

export interface CompatAppOptions {
  tenancy?: TenantResolver;
  trustProxy?: boolean;
  /** Engine options to override, e.g. a disk-space floor that makes the store unwritable. */
  engine?: Partial<EngineOptions>;
  /** NO_RETRY_WAIT: how long Umami's and Plausible's requests wait for room (0 by default). */
  noRetryWaitMs?: number;
  /** Where the app's log lines go (by default: nowhere, errors only). */
  log?: Logger;
}

export function appDeps(
  engine: Engine,
  clock: ManualClock | AppDeps['clock'],
  options: CompatAppOptions,
  log: Logger,
): AppDeps {
  return {
    engine,
    tenancy: options.tenancy ?? openTenancy,
    clock,
    log,
    options: {
      trustProxy: options.trustProxy ?? false,
      retryAfterSeconds: 1,
      queryTimeoutMs: 10_000,
      queryRowsMax: 10_000,
      noRetryWaitMs: options.noRetryWaitMs ?? 0,
    },
    isAccepting: () => true,
  };
}

export async function makeCompatApp(options: CompatAppOptions = {}): Promise<CompatApp> {
  const { dir, remove } = makeTempDir('tally-compat-');
  const clock = new ManualClock(T0);
  const log = options.log ?? createLogger('error', () => {});
  const build = async () => {
    const engine = await openEngine(engineOptions(dir, clock, options.engine));
    const deps = appDeps(engine, clock, options, log);
    return { engine, deps, app: new Elysia().use(createApp(deps)).use(compatRoutes(deps)) };
  };
  let current = await build();
  const handle = (request: Request) => current.app.handle(request);
  const get = (path: string, headers: Record<string, string> = {}) =>
    handle(new Request(`http://localhost${path}`, { headers }));
  return {
    get engine() {
      return current.engine;
    },
    get deps() {
      return current.deps;
    },
    clock,
    dataDir: dir,
    handle,
    get,
    post(path, body, headers = {}) {
      const raw = typeof body === 'string' || body instanceof Uint8Array;
      return handle(
        new Request(`http://localhost${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: raw ? (body as BodyInit) : JSON.stringify(body),
        }),
      );
    },
    async getJson<T>(path: string) {
      const res = await get(path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async restart(whileStopped) {
      await current.engine.close();
      whileStopped?.();
      current = await build();
    },
    async close() {
      await current.engine.close();
      remove();
    },
  };
}
