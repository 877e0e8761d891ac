// A real socket for SDK clients and browsers: an in-process Elysia on 127.0.0.1, port 0, with
// the real engine (system clock, temp dir), createApp and the compatibility routes.

import { Elysia } from 'elysia';
import {
  createLogger,
  type Logger,
  systemClock,
  type TenantResolver,
} from '../../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../../src/engine/index.ts';
import { compatRoutes } from '../../../src/http/compat/index.ts';
import { createApp } from '../../../src/http/index.ts';
import { engineOptions } from '../../helpers/app.ts';
import { makeTempDir } from '../../helpers/temp-dir.ts';
import { appDeps } from './compat-app.ts';

export interface CompatServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  engine: Engine;
  /** GET a JSON body from the server, failing on a non-200. */
  getJson<T = Record<string, unknown>>(path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startCompatServer(
  options: {
    tenancy?: TenantResolver;
    trustProxy?: boolean;
    log?: Logger;
    /** Engine options to override, e.g. small bounds that a few requests fill. */
    engine?: Partial<EngineOptions>;
    /** NO_RETRY_WAIT of Umami's and Plausible's routes (0 by default: refused at once). */
    noRetryWaitMs?: number;
  } = {},
): Promise<CompatServer> {
  const { dir, remove } = makeTempDir('tally-compat-server-');
  const engine = await openEngine(engineOptions(dir, systemClock, options.engine));
  const deps = appDeps(
    engine,
    systemClock,
    options,
    options.log ?? createLogger('error', () => {}),
  );
  const app = new Elysia().use(createApp(deps)).use(compatRoutes(deps));
  app.listen({ hostname: '127.0.0.1', port: 0 });
  const server = app.server;
  if (server === null) throw new Error('the compat server did not start');
  const url = server.url.href.replace(/\/$/, '');
  return {
    url,
    engine,
    async getJson<T>(path: string) {
      const res = await fetch(`${url}${path}`);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async close() {
      await app.stop(true);
      await engine.close();
      remove();
    },
  };
}
