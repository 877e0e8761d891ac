// The socket, apart from the application: main.ts listens as soon as the data directory is
// locked, and the store opens (recovers: log replay, dedup index) behind it. Until the app is
// served, /health says alive, /ready says why not, and every other request is 503 not_ready
// with Retry-After, so a load balancer or client sees "not yet" instead of a refused
// connection; but a request given a wait by `startingWaitOf` (a capture whose client drops or
// never resends a 503: see startingWaitLimits) waits for the app that long at most, and is
// served by it. The app's answers go through answerServing (server-work.ts): a read slower
// than Bun's idle timeout is not cut by it. Also stops the server at shutdown: requests in
// flight first, then connections.

import type { Server, WebSocketHandler } from 'bun';
import type { AnyElysia } from 'elysia';
import { websocket } from 'elysia/ws';
import { redactPath } from '../auth/index.ts';
import { AppError, type Logger, startingWaitLimits } from '../core/index.ts';
import { errorResponse } from './errors.ts';
import { answerServing, IDLE_TIMEOUT_S, noteIdleTimeout } from './server-work.ts';

/** Why /ready is 503 while the store opens. */
export const STARTING_REASON = 'starting: recovering the store';
/** Seconds Bun keeps an idle connection (defined with the work that turns it off). */
export { IDLE_TIMEOUT_S };

export interface ListenOptions {
  hostname: string;
  port: number;
  maxRequestBodySize: number;
  /** Bun's WebSocket settings (size and backpressure limits of the live sockets). */
  socket: Record<string, unknown>;
  retryAfterSeconds: number;
  /**
   * Logs the requests answered here, not by the app (the starting answers, an unroutable
   * host) as the app logs its own: one `request` line each at LOG_LEVEL=info.
   */
  log?: Logger;
  /**
   * How long a request waits for the app while the store opens before its 503 (ms; 0, or no
   * function: the 503 at once).
   */
  startingWaitOf?: (request: Request) => number;
  /** Bun's idle timeout, seconds (IDLE_TIMEOUT_S; tests shorten it). */
  idleTimeoutS?: number;
}

type Handler = (request: Request) => Response | Promise<Response>;

export interface EarlyListener {
  readonly server: Server<unknown>;
  /** From now on every request goes to `app` (which gets the server, for WS upgrades). */
  serve(app: AnyElysia): void;
}

/** Listens at once, answering "starting" (see `startingAnswer`) until `serve` is called. */
export function listenEarly(options: ListenOptions): EarlyListener {
  const { retryAfterSeconds, log } = options;
  const starting: Handler = (request) =>
    logged(log, request, performance.now(), startingAnswer(request, retryAfterSeconds));
  let served = (): void => undefined;
  const appServes = new Promise<void>((resolve) => {
    served = resolve;
  });
  let waiting = 0;
  /** Served by the app once it is (`handle` is its handler then), else the 503 after all. */
  const waited = async (request: Request, waitMs: number): Promise<Response> => {
    waiting++;
    try {
      if (await servedWithin(appServes, waitMs, request.signal)) return handle(request);
    } finally {
      waiting--;
    }
    return starting(request);
  };
  let handle: Handler = (request) => {
    const waitMs =
      waiting < startingWaitLimits.waitingRequestsMax
        ? (options.startingWaitOf?.(request) ?? 0)
        : 0;
    return waitMs > 0 ? waited(request, waitMs) : starting(request);
  };
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    maxRequestBodySize: options.maxRequestBodySize,
    // A port in use must be an error: SO_REUSEPORT would let a second server take half of the
    // connections of the first.
    reusePort: false,
    idleTimeout: options.idleTimeoutS ?? IDLE_TIMEOUT_S,
    development: false,
    // Elysia's handlers dispatch each socket's events to the route that upgraded it.
    websocket: { ...(websocket as WebSocketHandler<unknown>), ...options.socket },
    fetch: (request) => handle(request),
  });
  if (options.idleTimeoutS !== undefined) noteIdleTimeout(server, options.idleTimeoutS);
  return {
    server,
    serve(app) {
      app.server = server as AnyElysia['server'];
      const fetch = app.fetch; // composed once: Elysia's getter builds the handler each time
      // The server's work on an answer (a long read) does not count as its connection idle.
      handle = (request) =>
        isRoutable(request.url)
          ? answerServing(server, request, fetch)
          : logged(
              log,
              request,
              performance.now(),
              errorResponse(unroutableError(request.url), retryAfterSeconds),
            );
      served();
    },
  };
}

/**
 * Whether `served` resolves within `waitMs`; false at once when the client goes away (`signal`).
 * The timer does not hold the process (a start that fails exits with requests still waiting).
 */
function servedWithin(served: Promise<void>, waitMs: number, signal: AbortSignal) {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (outcome: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', gone);
      resolve(outcome);
    };
    const gone = () => done(false);
    const timer = setTimeout(() => done(false), waitMs);
    timer.unref();
    signal.addEventListener('abort', gone);
    void served.then(() => done(true));
  });
}

/** `answer`, once its request is logged as the app logs its own (app.ts, requestLog). */
function logged(
  log: Logger | undefined,
  request: Request,
  startedAt: number,
  answer: Response,
): Response {
  if (log?.enabled('info')) {
    log.info('request', {
      method: request.method,
      path: redactPath(new URL(request.url).pathname),
      status: answer.status,
      duration_ms: Math.round((performance.now() - startedAt) * 100) / 100,
    });
  }
  return answer;
}

/**
 * Where Elysia's router starts looking for the path in a request's URL: past `http://` and four
 * characters of host (elysiajs/elysia#748, kept upstream as it is).
 */
const ROUTER_PATH_SEARCH_FROM = 11;

/**
 * Whether Elysia finds the path of `url`: not when the host, with no port (or the scheme's
 * default, which the URL leaves out), is shorter than four characters (`http://api/`, a
 * container's name on port 80), where it read another path or none: every route was a 404.
 */
function isRoutable(url: string): boolean {
  return url.indexOf('/', url.indexOf('//') + 2) >= ROUTER_PATH_SEARCH_FROM;
}

/** What a request whose URL the router cannot read gets: a 400 saying how to reach Tally. */
function unroutableError(url: string): AppError {
  const host = new URL(url).host;
  return new AppError(
    'bad_request',
    `Tally cannot route a request for host ${host}: a host name shorter than 4 characters ` +
      `works only with a port other than the scheme's default (e.g. ${host}:8080) or as a ` +
      `longer name (e.g. ${host}.internal)`,
  );
}

/** The answer to any request while the store opens. */
export function startingAnswer(request: Request, retryAfterSeconds: number): Response {
  const path = new URL(request.url).pathname;
  const read = request.method === 'GET' || request.method === 'HEAD';
  if (read && path === '/health') return Response.json({ status: 'ok' });
  const error =
    read && path === '/ready'
      ? new AppError('not_ready', STARTING_REASON)
      : new AppError('not_ready', `the server is ${STARTING_REASON}; retry later`);
  const answer = errorResponse(error, retryAfterSeconds);
  // Readable from any page (it says nothing but "not yet"): a browser SDK then sees a 503 to
  // retry, not a failed request. posthog-js resends a 5xx up to 10 times but a request with no
  // status (blocked by CORS) only 3 times, 21 s in all: less than a start that rebuilds the
  // deduplication index.
  if (request.headers.has('origin')) {
    answer.headers.set('access-control-allow-origin', '*');
    answer.headers.set('access-control-expose-headers', 'Retry-After');
  }
  return answer;
}

/** What shutdown needs of the HTTP server (Bun's Server). */
export interface StoppableServer {
  readonly pendingRequests: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

/** How often shutdown looks whether the requests in flight have been answered. */
const SHUTDOWN_POLL_INTERVAL_MS = 10;
/**
 * Once no request is in flight, how long connections get to close by themselves (the last
 * responses finish writing) before the rest are closed: those that sent half a request, which
 * Bun does not count as in flight and would wait on for good.
 */
const SHUTDOWN_CLOSE_GRACE_MS = 200;

/**
 * Stops taking connections, waits (up to `requestsWaitMs`) for the requests already read to be
 * answered (their commits, a running SQL statement), then closes every connection left.
 */
export async function stopServer(
  server: StoppableServer,
  requestsWaitMs: number,
  onCut: (requests: number) => void,
): Promise<void> {
  const until = performance.now() + requestsWaitMs;
  // Resolves once every connection closed; one that sent half a request holds it for good.
  const closed = server.stop(false);
  while (server.pendingRequests > 0 && performance.now() < until) {
    await Bun.sleep(SHUTDOWN_POLL_INTERVAL_MS);
  }
  if (server.pendingRequests > 0) onCut(server.pendingRequests);
  const graceMs = Math.max(0, Math.min(SHUTDOWN_CLOSE_GRACE_MS, until - performance.now()));
  await Promise.race([closed, Bun.sleep(graceMs)]);
  await server.stop(true);
}
