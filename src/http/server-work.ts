// Bun closes a connection that sends and receives nothing for its idle timeout (IDLE_TIMEOUT_S),
// also while the server itself works on the answer: a 30-day stats read, a Parquet export's copy
// of a large tenant, or an export page waiting for a read place, was cut as if the client had
// gone (logged 499). While the server works for a request, its connection's idle timeout is
// off; once the work is done it is back, so a client that reads nothing is still dropped. Bun
// keeps a request's timeout for the later requests of its connection, so it is restored on
// every path. A request with a body needs none of this: Bun turns its timeout off itself once
// the body is in (answerServing).

/** Seconds Bun keeps an idle connection (Elysia's default for its own listen). */
export const IDLE_TIMEOUT_S = 30;

/** What this needs of Bun's Server: its per-request idle timeout (0: none). */
export interface IdleTimeouts {
  timeout(request: Request, seconds: number): void;
}

export interface ServerWork {
  /** Runs `work` with the connection's idle timeout off; restores it once the work settles. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** The idle timeout of each server that listens with another than IDLE_TIMEOUT_S (tests). */
const idleTimeoutsS = new WeakMap<IdleTimeouts, number>();

/** Tells what `server`'s idle timeout is, for the timeout restored after work. */
export function noteIdleTimeout(server: IdleTimeouts, seconds: number): void {
  idleTimeoutsS.set(server, seconds);
}

/**
 * How many runs hold each request's idle timeout off: per request, not per ServerWork, so that
 * the work of a whole answer (answerServing) and an export's work within it nest, and the
 * timeout is back only once the last of them ends.
 */
const holds = new WeakMap<Request, number>();

function hold(server: IdleTimeouts, request: Request): void {
  const held = holds.get(request) ?? 0;
  if (held === 0) server.timeout(request, 0);
  holds.set(request, held + 1);
}

function release(server: IdleTimeouts, request: Request): void {
  const held = (holds.get(request) ?? 1) - 1;
  if (held > 0) {
    holds.set(request, held);
    return;
  }
  holds.delete(request);
  server.timeout(request, idleTimeoutsS.get(server) ?? IDLE_TIMEOUT_S);
}

/**
 * The server's work for `request`, on `server` (null when the app answers without a socket,
 * as in tests: nothing to do then). Nested runs restore the timeout once the outer one ends.
 */
export function serverWorkOf(server: IdleTimeouts | null, request: Request): ServerWork {
  return {
    async run(work) {
      if (server === null) return work();
      hold(server, request);
      try {
        return await work();
      } finally {
        release(server, request);
      }
    },
  };
}

/**
 * `handle`'s answer to `request`, the connection's idle timeout off while the server works on
 * it, for a request with no body (a read: Tally's, the compatible APIs', the dashboard's), and
 * back on before the answer is returned, so before Bun writes it: a client that reads nothing
 * of it is still dropped (a streamed export holds it off again for each page it reads,
 * serverWorkOf). A request with a body is left to Bun: its HTTP layer (uWebSockets, in Bun's
 * packages/bun-uws/src/HttpContext.h) turns the timeout off itself once the last of the body
 * has arrived, and on again once the answer is written; never while the body still arrives, so
 * a client trickling a body is still cut. Only a request with no body was cut while the server
 * worked. A WebSocket handshake is left alone: its socket, once upgraded, has the WebSocket's
 * own idle timeout.
 */
export function answerServing(
  server: IdleTimeouts,
  request: Request,
  handle: (request: Request) => Response | Promise<Response>,
): Response | Promise<Response> {
  if (isUpgrade(request) || hasBody(request)) return handle(request);
  return serverWorkOf(server, request).run(async () => handle(request));
}

/** Whether `request` asks for a WebSocket (the value is case-insensitive: RFC 6455 §4.2.1). */
function isUpgrade(request: Request): boolean {
  return request.headers.get('upgrade')?.toLowerCase() === 'websocket';
}

/** Whether `request` has a body to receive (RFC 9112 §6.3: only a length or chunks say so). */
function hasBody(request: Request): boolean {
  if (request.headers.has('transfer-encoding')) return true;
  return Number(request.headers.get('content-length')) > 0; // Number(null) is 0
}
