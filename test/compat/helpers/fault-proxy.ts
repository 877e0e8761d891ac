// A test-only HTTP proxy in front of a server that can fail chosen requests after the upstream
// has handled them: the upstream commits the events, the client gets a 502 instead of the
// answer and retries the same batch. Or refuse them before the upstream sees them, as an
// overloaded node's 503 that wrote nothing. Bodies pass through unchanged (gzip included).

export interface ProxyLogEntry {
  method: string;
  path: string;
  /** The query string, `?…`, or empty. */
  search: string;
  status: number;
  encoding: string | null;
  contentType: string | null;
}

export interface FaultProxy {
  url: string;
  /** Requests forwarded so far: what was asked, the status the client got. */
  log: ProxyLogEntry[];
  /** The next `count` requests to `path` get 502 after the upstream answered. */
  failNext(path: string, count?: number): void;
  /** The next request to `path` gets `status` without reaching the upstream. */
  refuseNext(path: string, status?: number): void;
  close(): void;
}

export function startFaultProxy(upstream: string): FaultProxy {
  const failures = new Map<string, number>();
  const refusals = new Map<string, number>();
  const log: ProxyLogEntry[] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = request.method === 'GET' ? undefined : await request.arrayBuffer();
      const refusal = refusals.get(url.pathname);
      if (refusal !== undefined) {
        refusals.delete(url.pathname);
        log.push({ ...entryOf(request, url), status: refusal });
        return new Response('refused by the test proxy', { status: refusal });
      }
      const headers = new Headers(request.headers);
      headers.delete('host');
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body,
        decompress: false,
      });
      const bytes = await answer.arrayBuffer();
      const entry = entryOf(request, url);
      const left = failures.get(url.pathname) ?? 0;
      if (left > 0) {
        failures.set(url.pathname, left - 1);
        log.push({ ...entry, status: 502 });
        return new Response('upstream answer dropped by the test proxy', { status: 502 });
      }
      log.push({ ...entry, status: answer.status });
      return new Response(bytes, { status: answer.status, headers: answer.headers });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    log,
    failNext(path, count = 1) {
      failures.set(path, (failures.get(path) ?? 0) + count);
    },
    refuseNext(path, status = 503) {
      refusals.set(path, status);
    },
    close() {
      server.stop(true);
    },
  };
}

function entryOf(request: Request, url: URL): Omit<ProxyLogEntry, 'status'> {
  return {
    method: request.method,
    path: url.pathname,
    search: url.search,
    encoding: request.headers.get('content-encoding'),
    contentType: request.headers.get('content-type'),
  };
}
