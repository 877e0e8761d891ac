// The app over a real socket with a short body read time (READ_TIMEOUT_MS instead of the
// limit's 60 s), for tests of bodies that never arrive whole.

import { type EarlyListener, listenEarly } from '../../src/http/index.ts';
import { makeTestApp, type TestApp } from './app.ts';

export const READ_TIMEOUT_MS = 300;

export interface ReadTimeoutServer {
  t: TestApp;
  listener: EarlyListener;
  close(): Promise<void>;
}

export async function serveWithReadTimeout(): Promise<ReadTimeoutServer> {
  const t = await makeTestApp({}, { bodyReadTimeoutMs: READ_TIMEOUT_MS });
  const listener = listenEarly({
    hostname: '127.0.0.1',
    port: 0,
    maxRequestBodySize: 1 << 20,
    socket: {},
    retryAfterSeconds: 1,
  });
  listener.serve(t.app);
  return {
    t,
    listener,
    close: async () => {
      await listener.server.stop(true);
      await t.close();
    },
  };
}
