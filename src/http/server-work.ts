// Bun closes a connection that sends and receives nothing for its idle timeout (IDLE_TIMEOUT_S),
// also while the server itself works on the answer: a Parquet export's copy of a large tenant,
// or an export page waiting for a read place, was cut as if the client had gone (logged 499).
// While the server works for a request, its connection's idle timeout is off; once the work is
// done it is back, so a client that reads nothing is still dropped. Bun keeps a request's
// timeout for the later requests of its connection, so it is restored on every path.

/** What this needs of Bun's Server: its per-request idle timeout (0: none). */
export interface IdleTimeouts {
  timeout(request: Request, seconds: number): void;
}

export interface ServerWork {
  /** Runs `work` with the connection's idle timeout off; restores it once the work settles. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * The server's work for `request`, on `server` (null when the app answers without a socket,
 * as in tests: nothing to do then). Nested runs restore the timeout once the outer one ends.
 */
export function serverWorkOf(
  server: IdleTimeouts | null,
  request: Request,
  idleTimeoutS: number,
): ServerWork {
  let running = 0;
  return {
    async run(work) {
      if (server === null) return work();
      if (running++ === 0) server.timeout(request, 0);
      try {
        return await work();
      } finally {
        if (--running === 0) server.timeout(request, idleTimeoutS);
      }
    },
  };
}
