// The durable floor under single-event ingest: the bare server (bench/support/bare-server.ts)
// plus the one thing durability adds — each request's body is appended to a log file and the
// 202 waits until an fdatasync covering it has returned. Commits are grouped as simply as
// possible: the requests that arrive while one fdatasync runs are written together and share
// the next one (one in flight; on this VM two or more in flight measured no better). No
// framework, no checks, no deduplication, no framing: the fastest a Bun server that fsyncs
// before it answers can go on this machine, so the report can tell what durability itself
// costs here from what Tally adds to it. Run as a child process:
// `PORT=N LOG_DIR=/tmp/x bun bench/support/durable-floor-server.ts`; GET /health answers 200.

import * as fs from 'node:fs';
import * as path from 'node:path';

const port = Number(Bun.env.PORT ?? '0');
const logDir = Bun.env.LOG_DIR;
if (logDir === undefined) throw new Error('LOG_DIR: give the directory for the log file');

const fd = fs.openSync(path.join(logDir, 'durable-floor.log'), 'a');
/** Lines waiting for the next commit, and the requests they answer. */
let lines: string[] = [];
let waiting: Array<() => void> = [];
let committing = false;
let scheduled = false;

/** Writes every waiting line, fdatasyncs, answers their requests, then goes on with the next. */
function commit(): void {
  scheduled = false;
  if (committing || lines.length === 0) return;
  const answers = waiting;
  fs.writeSync(fd, lines.join(''));
  lines = [];
  waiting = [];
  committing = true;
  fs.fdatasync(fd, (error) => {
    if (error) throw error;
    committing = false;
    for (const answer of answers) answer();
    commit();
  });
}

function durably(line: string): Promise<void> {
  lines.push(line);
  const committed = new Promise<void>((resolve) => waiting.push(resolve));
  if (!scheduled && !committing) {
    scheduled = true;
    setImmediate(commit);
  }
  return committed;
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(request) {
    if (request.method !== 'POST') return Response.json({ status: 'ok' });
    const body = (await request.json()) as { event_id?: unknown };
    await durably(`${JSON.stringify(body)}\n`);
    return Response.json(
      { status: 'accepted', event_id: body.event_id, duplicate: false },
      { status: 202 },
    );
  },
});

process.on('SIGTERM', () => {
  void server.stop(true);
  process.exit(0);
});
