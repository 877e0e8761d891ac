// The baseline for the ingest benchmark: a bare Bun.serve that only parses the JSON body and
// answers 202 with a small JSON. It shows what the runtime, the socket and wrk cost on this
// machine, so Tally's numbers can be read as a fraction of it. Run as a child process:
// `PORT=N bun bench/support/bare-server.ts`; GET /health answers 200 once it listens.

const port = Number(Bun.env.PORT ?? '0');

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(request) {
    if (request.method !== 'POST') return Response.json({ status: 'ok' });
    const body: unknown = await request.json();
    const events = (body as { events?: unknown }).events;
    const accepted = Array.isArray(events) ? events.length : 1;
    return Response.json({ status: 'accepted', accepted }, { status: 202 });
  },
});

process.on('SIGTERM', () => {
  void server.stop(true);
  process.exit(0);
});
