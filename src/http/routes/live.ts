// The live WebSocket at /api/v1/live and /api/v1/ws/metrics (the PulseBoard path). Before the
// upgrade it checks the Origin, authenticates like the read routes (a token in the
// Authorization header, the Sec-WebSocket-Protocol header or, here only, `?token=`) and the
// subscriber bounds; after it, everything is the hub's (on the PulseBoard path the socket
// starts subscribed to all names). The protocol schemas are registered as OpenAPI components.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Elysia, t } from 'elysia';
import { accessTokenExpiresAt, bearerOf, readCredentialOf } from '../../auth/index.ts';
import { AppError, type TenantResolver } from '../../core/index.ts';
import {
  CLOSE_INTERNAL_ERROR,
  type LiveCredentials,
  type LiveHub,
  type LivePublisher,
  type LiveSocket,
  liveSchemas,
} from '../../live/index.ts';
import { noteTenant } from '../context.ts';
import { tenantParam } from '../read-params.ts';
import { refuseRepeatedParameters } from '../repeated-params.ts';
import { isRefusal } from '../tenancy.ts';
import { issuesOf } from '../validate.ts';

export const LIVE_PATHS = ['/api/v1/live', '/api/v1/ws/metrics'] as const;
/**
 * Paths whose sockets are subscribed to all names on open: PulseBoard (seed 001) clients connect
 * to /api/v1/ws/metrics?token= and only listen for metric updates; they know no subscribe.
 */
const SUBSCRIBED_ON_OPEN: ReadonlySet<string> = new Set([LIVE_PATHS[1]]);
/** The subprotocol a browser offers (with `bearer.<token>`) and the server selects. */
const LIVE_SUBPROTOCOL = 'tally.live';
const BEARER_PREFIX = 'bearer.';

/** The query of a live socket, checked as the read routes check theirs (422 before auth). */
const liveQueryChecker = TypeCompiler.Compile(t.Object({ ...tenantParam }));

export interface LiveRouteDeps {
  hub: LiveHub;
  tenancy: Pick<TenantResolver, 'forRead'>;
  /** Origins allowed besides the server's own host (`*`: any). No Origin (not a browser): ok. */
  allowedOrigins: readonly string[];
  /**
   * Whether `tenancy` verifies access tokens (AUTH_MODE=required): only then is the expiry a
   * token states its own, and worth a check (open mode reads no token: it could say any).
   */
  verifiesTokens: boolean;
}

interface Admitted {
  tenant: string;
  publisher: LivePublisher;
  credentials: LiveCredentials;
  /** The hub's deletions of the tenant when the credentials passed (LiveHub.deletionsOf). */
  deletions: number;
}

/** A token and the subprotocol to answer with, from a Sec-WebSocket-Protocol header. */
export interface OfferedProtocols {
  token: string | null;
  selected: string | null;
}

/**
 * Reads `Sec-WebSocket-Protocol: tally.live, bearer.<token>` (or `bearer, <token>`). A browser
 * fails the handshake unless the server selects one offered value: `tally.live` when offered,
 * else `bearer` (of the two-entry form); never a `bearer.<token>` entry, which would echo the
 * secret in the response headers (a client offering only that gets no protocol).
 */
export function readOfferedProtocols(header: string | null): OfferedProtocols {
  const offered = (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  let token: string | null = null;
  let selected: string | null = offered.includes(LIVE_SUBPROTOCOL) ? LIVE_SUBPROTOCOL : null;
  offered.forEach((p, i) => {
    if (token !== null) return;
    if (p.toLowerCase().startsWith(BEARER_PREFIX) && p.length > BEARER_PREFIX.length) {
      token = p.slice(BEARER_PREFIX.length);
    } else if (p.toLowerCase() === 'bearer' && offered[i + 1] !== undefined) {
      token = offered[i + 1] as string;
      selected ??= p;
    }
  });
  return { token, selected };
}

/**
 * Same host and port (any scheme, as behind a TLS proxy) or listed; requests without an Origin
 * are not from a browser page and cannot be a cross-site hijack.
 */
export function isOriginAllowed(
  origin: string | null,
  host: string | null,
  allowed: readonly string[],
): boolean {
  if (origin === null) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  if (host === null || !URL.canParse(origin)) return false;
  return namesOrigin(host, new URL(origin));
}

/** A Host header: a name or a bracketed IPv6 address, and a port or none; nothing else. */
const HOST_HEADER = /^(?:\[[0-9a-f:.]+\]|[^\s/\\?#@[\]:]+)(?::\d+)?$/i;

/**
 * Whether the Host header names the origin's host and port. The header has no scheme, so it is
 * read with the origin's: a default port written out (`tally.example:443` from a proxy that
 * rewrites Host, `:80` for http) is the port `https://tally.example` leaves out, and a Host
 * without a port is on the origin's default one. A Host with anything else in it (a user
 * before `@`, a path) names no origin.
 */
function namesOrigin(host: string, origin: URL): boolean {
  if (!HOST_HEADER.test(host)) return false;
  const read = `${origin.protocol}//${host.toLowerCase()}`;
  return URL.canParse(read) && new URL(read).host === origin.host;
}

/** The characters of every token a server issues (a JWT, a key): visible ASCII. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * The token of an upgrade that sends none in its headers: from the subprotocol, else from
 * `?token=` (seed-001 clients). Only this route reads a token from the URL. Trimmed, as a
 * header value is; one with any other character left (a line break or a space inside, `€`)
 * is none any server issued, and one no header may carry: 401, before it is copied into
 * Authorization.
 */
function unheaderedToken(request: Request, offered: OfferedProtocols): string | null {
  const raw = offered.token ?? new URL(request.url).searchParams.get('token');
  const token = raw?.trim() || null;
  if (token !== null && !TOKEN_CHARS.test(token)) {
    throw new AppError('unauthorized', 'invalid access token: it holds characters no token has', {
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    });
  }
  return token;
}

/**
 * The request forRead sees: with `Authorization: Bearer` when the token came another way. An
 * Authorization of another scheme is replaced: a browser sends the Basic credentials of a
 * proxy that asked for them on the handshake too, and they are no Tally credential.
 */
function authRequest(request: Request, token: string | null): Request {
  if (token === null || bearerOf(request) !== null) return request;
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${token}`);
  return new Request(request.url, { method: request.method, headers });
}

/**
 * What a re-check of a socket's credentials depends on (everything forRead reads), so sockets
 * opened with the same credential for the same tenant share one check per round.
 */
function credentialsKey(
  request: Request,
  query: Record<string, string | undefined>,
  tenant: string,
): string {
  const url = new URL(request.url);
  return JSON.stringify([
    tenant,
    request.headers.get('x-tally-key'),
    request.headers.get('authorization'),
    query.tenant_id ?? null,
    url.searchParams.get('tenant_id'),
  ]);
}

/** Elysia types `ws.raw` with its own copy of Bun's types, which lacks getBufferedAmount. */
const bunSocket = (raw: object): LiveSocket => raw as Bun.ServerWebSocket<unknown>;

export function liveRoutes(deps: LiveRouteDeps) {
  const admitted = new WeakMap<Request, Admitted>();
  const admit = (
    request: Request,
    query: Record<string, string | undefined>,
    server: LivePublisher | null,
    headers: Record<string, unknown>,
  ) => {
    const origin = request.headers.get('origin');
    if (!isOriginAllowed(origin, request.headers.get('host'), deps.allowedOrigins)) {
      throw new AppError('forbidden', `origin ${origin} may not open live sockets here`);
    }
    refuseRepeatedParameters(request); // tenant_id=a&tenant_id=b: as on every read
    const issues = issuesOf(liveQueryChecker, query, ['query']);
    if (issues.length > 0) throw AppError.validation(issues);
    const offered = readOfferedProtocols(request.headers.get('sec-websocket-protocol'));
    const credentials = authRequest(request, unheaderedToken(request, offered));
    const tenant = deps.tenancy.forRead(credentials, query);
    // Taken in the turn of the check: a deletion that lands before the socket opens (and
    // closes the tenant's sockets without it) is seen by open.
    const deletions = deps.hub.deletionsOf(tenant);
    noteTenant(request, tenant);
    const admission = deps.hub.admit(tenant);
    if (admission.kind === 'full') {
      const code = admission.scope === 'tenant' ? 'tenant_overloaded' : 'overloaded';
      throw new AppError(code, admission.reason);
    }
    if (server === null) throw new AppError('internal', 'live sockets need a listening server');
    // Bun echoes the first offered protocol unless told one: with none selected, say so.
    headers['sec-websocket-protocol'] = offered.selected ?? '';
    // Checked for the tenant it streams, not for what the query would resolve to now: a
    // member who opened it without tenant_id (their only project) and got a second project
    // still reads this one.
    const recheckQuery = { ...query, tenant_id: tenant };
    const stillAuthorized = () => {
      try {
        return deps.tenancy.forRead(credentials, recheckQuery, { rateLimited: false }) === tenant;
      } catch (error) {
        if (isRefusal(error)) return false; // revoked key, ended session, lost membership
        throw error; // the check failed (SQLite busy, I/O): the hub checks again next round
      }
    };
    const key = credentialsKey(credentials, query, tenant);
    // An access token is checked again when it expires (verified above: only read here).
    const credential = deps.verifiesTokens ? readCredentialOf(credentials) : null;
    const expiresAt = credential?.kind === 'jwt' ? accessTokenExpiresAt(credential.value) : null;
    const stream = { tenant, publisher: server, deletions };
    admitted.set(request, { ...stream, credentials: { key, stillAuthorized, expiresAt } });
  };
  const open = (socket: LiveSocket, request: Request, subscribed: boolean) => {
    const admission = admitted.get(request);
    if (admission === undefined) {
      socket.close(CLOSE_INTERNAL_ERROR, 'not admitted');
      return;
    }
    const { tenant, publisher, credentials, deletions } = admission;
    if (deps.hub.open(socket, tenant, publisher, credentials, deletions) && subscribed) {
      void deps.hub.subscribeAll(socket);
    }
  };
  const socketRoute = <Path extends string>(path: Path) =>
    new Elysia().ws(path, {
      detail: { hide: true },
      beforeHandle: ({ request, query, server, set }) => {
        admit(request, query, server, set.headers as Record<string, unknown>);
        set.status = 101; // what the request log shows: Bun answers the upgrade itself
      },
      open: (ws) => open(bunSocket(ws.raw), ws.data.request, SUBSCRIBED_ON_OPEN.has(path)),
      message: (ws, message) => deps.hub.receive(bunSocket(ws.raw), message),
      close: (ws) => deps.hub.close(bunSocket(ws.raw)),
    });
  return new Elysia({ name: 'live' })
    .model(liveSchemas)
    .use(socketRoute(LIVE_PATHS[0]))
    .use(socketRoute(LIVE_PATHS[1]));
}
