// Builds the real app over a real store in a temp dir, for socket-free HTTP tests.

import {
  type Clock,
  createLogger,
  defaultTunables,
  type Logger,
  ManualClock,
} from '../../src/core/index.ts';
import { Ingestor, type IngestorOptions } from '../../src/engine/index.ts';
import { createApp } from '../../src/http/index.ts';
import { makeTempDir } from './temp-dir.ts';

export const T0 = Date.parse('2026-11-25T12:00:00Z');

export interface TestApp {
  app: ReturnType<typeof createApp>;
  ingestor: Ingestor;
  clock: ManualClock;
  dataDir: string;
  logs: string[];
  /** Closes the store and opens a new one over the same directory (a clean restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
}

export function ingestorOptions(
  dataDir: string,
  clock: Clock,
  overrides: Partial<IngestorOptions> = {},
): IngestorOptions {
  return {
    ...defaultTunables,
    dataDir,
    durability: 'fsync',
    diskFreeBytesMin: 0,
    clock,
    onFatal: (error) => {
      throw error;
    },
    ...overrides,
  };
}

export function makeTestApp(overrides: Partial<IngestorOptions> = {}): TestApp {
  const { dir, remove } = makeTempDir();
  const clock = new ManualClock(T0);
  const logs: string[] = [];
  const log: Logger = createLogger('info', (line) => logs.push(line));
  let accepting = true;
  const build = () => {
    const ingestor = new Ingestor(ingestorOptions(dir, clock, overrides));
    const app = createApp({
      ingestor,
      clock,
      log,
      options: { storeIp: false, trustProxy: false, retryAfterSeconds: 1 },
      isAccepting: () => accepting,
    });
    return { ingestor, app };
  };
  let current = build();
  const handle = (request: Request) => current.app.handle(request);
  const self: TestApp = {
    get app() {
      return current.app;
    },
    get ingestor() {
      return current.ingestor;
    },
    clock,
    dataDir: dir,
    logs,
    async restart() {
      await current.ingestor.close();
      current = build();
    },
    async close() {
      accepting = false;
      await current.ingestor.close();
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
  };
  return self;
}
