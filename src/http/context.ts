// What route handlers need besides the request: the engine, the clock, request-level options,
// and per-request facts shared with the request logger (which tenant a request acted for).

import type { Auth } from '../auth/index.ts';
import type { Clock, Logger, TenantResolver } from '../core/index.ts';
import { normalizeIp } from '../core/index.ts';
import type { Engine, RetentionPass } from '../engine/index.ts';
import type { LiveHub } from '../live/index.ts';
import type { PageBounds } from '../query/index.ts';

export interface HttpOptions {
  /** Take the client IP from X-Forwarded-For (only behind a trusted proxy). */
  trustProxy: boolean;
  retryAfterSeconds: number;
  queryTimeoutMs: number;
  queryRowsMax: number;
  /** Bounds of an NDJSON or CSV export's pages (queryLimits' by default; tests set smaller). */
  exportPage?: PageBounds;
  /**
   * How long a body may take to arrive once a route reads it (requestLimits.bodyReadTimeoutMs
   * by default; tests set smaller).
   */
  bodyReadTimeoutMs?: number;
  /** Origins allowed to call read routes from a browser (ingest routes allow any). */
  corsOrigins?: string[];
  /** Origins allowed to open live WebSockets besides the server's own (`*`: any). */
  liveAllowedOrigins?: readonly string[];
  /**
   * How long a request of a client that never resends (Umami, Plausible) waits for room when
   * the node is overloaded before it is refused (NO_RETRY_WAIT); 0 or absent: never.
   */
  noRetryWaitMs?: number;
}

export interface AppDeps {
  engine: Engine;
  /** Who may write and read which tenant; `openTenancy` when auth is off. */
  tenancy: TenantResolver;
  /** Users, projects and keys; their routes are mounted when present. */
  auth?: Auth;
  /** Live counters over WebSocket; its routes are mounted when present. */
  live?: LiveHub;
  /** The retention pass, whose settings and last run the server status shows. */
  retention?: Pick<RetentionPass, 'defaultDays' | 'lastRunAt'>;
  clock: Clock;
  log: Logger;
  options: HttpOptions;
  /** False once shutdown began: new writes get 503 while in-flight ones finish. */
  isAccepting: () => boolean;
  /**
   * True once shutdown closed the connections still in flight (its share of the deadline
   * passed): a request that ends as client_closed then was cut by the server, not left by its
   * client, and is logged so (CUT_AT_SHUTDOWN_STATUS). Absent: never.
   */
  isCut?: () => boolean;
  newEventId?: () => string;
}

/** The auth module when requests need credentials (AUTH_MODE=required), else null. */
export function requiredAuthOf(deps: Pick<AppDeps, 'auth' | 'tenancy'>): Auth | null {
  const { auth } = deps;
  return auth !== undefined && deps.tenancy === auth.tenancy ? auth : null;
}

const tenantOfRequest = new WeakMap<Request, string>();

export function noteTenant(request: Request, tenant: string): void {
  tenantOfRequest.set(request, tenant);
}

export function tenantOf(request: Request): string | undefined {
  return tenantOfRequest.get(request);
}

/** A streamed answer's end, and the request-log line waiting for it. */
interface StreamEnd {
  ended: boolean;
  line?: () => void;
}
const streamEndOfRequest = new WeakMap<Request, StreamEnd>();

/**
 * Marks the answer to `request` as a streamed body (an export, which may last minutes or hours):
 * its request-log line waits for the stream's end, so its duration is the whole answer's, not
 * the time until it began. Returns what to call once the stream ended, whichever way (more than
 * once is fine).
 */
export function noteStreamed(request: Request): () => void {
  const end: StreamEnd = { ended: false };
  streamEndOfRequest.set(request, end);
  return () => {
    if (end.ended) return;
    end.ended = true;
    end.line?.();
  };
}

/** Writes a request's log line now, or for a streamed answer once its stream ended. */
export function whenAnswered(request: Request, line: () => void): void {
  const end = streamEndOfRequest.get(request);
  if (end === undefined || end.ended) line();
  else end.line = line;
}

/**
 * The client address: the socket peer, or behind a trusted proxy the last X-Forwarded-For hop,
 * the one that proxy appended. Hops to its left are whatever the client sent, so taking the
 * first would let a client pick its own address (and its own login rate-limit bucket).
 */
export function clientIp(
  request: Request,
  server: { requestIP(r: Request): { address: string } | null } | null,
  trustProxy: boolean,
): string | null {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for');
    const last = forwarded?.split(',').at(-1)?.trim();
    if (last) return normalizeIp(last);
  }
  const peer = server?.requestIP(request)?.address;
  return peer === undefined ? null : normalizeIp(peer);
}
