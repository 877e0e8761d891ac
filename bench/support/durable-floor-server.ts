// The durable floor under single-event ingest: the bare server (bench/support/bare-server.ts)
// plus the one thing durability adds — each request's body is written to a log file and the
// 202 waits until an fdatasync covering it has returned. Done the fastest way measured on this
// VM: commits grouped as simply as possible (the requests that arrive while one fdatasync runs
// are written together and share the next; one in flight, as two or more measured no better),
// and the file filled with zeros up front, so a commit overwrites allocated blocks and its
// fdatasync has no file size or extent to journal (appending instead: ~0.4× bare against
// ~0.6×, bench/README.md). No framework, no checks, no deduplication, no framing, and the file
// wraps around when full: the fastest a Bun server that syncs before it answers goes on this
// machine, so the report can tell what durability itself costs here from what Tally adds.
// Run as a child process: `PORT=N LOG_DIR=/tmp/x bun bench/support/durable-floor-server.ts`;
// GET /health answers 200 once the file is filled and the server listens.

import * as fs from 'node:fs';
import * as path from 'node:path';

const port = Number(Bun.env.PORT ?? '0');
const logDir = Bun.env.LOG_DIR;
if (logDir === undefined) throw new Error('LOG_DIR: give the directory for the log file');

/** The log's size: at a few MB a second, written over from the start every minute or so. */
const LOG_BYTES = 256 * 1024 * 1024;
const FILL_CHUNK_BYTES = 16 * 1024 * 1024;

const fd = fs.openSync(path.join(logDir, 'durable-floor.log'), 'w');
const zeros = Buffer.alloc(FILL_CHUNK_BYTES);
for (let at = 0; at < LOG_BYTES; at += FILL_CHUNK_BYTES)
  fs.writeSync(fd, zeros, 0, zeros.length, at);
fs.fsyncSync(fd);
/** Where the next commit writes. */
let offset = 0;
/** Lines waiting for the next commit, and the requests they answer. */
let lines: string[] = [];
let waiting: Array<() => void> = [];
let committing = false;
let scheduled = false;

/** Writes the waiting lines at the offset, fdatasyncs, answers them, goes on with the next. */
function commit(): void {
  scheduled = false;
  if (committing || lines.length === 0) return;
  const answers = waiting;
  const bytes = Buffer.from(lines.join(''));
  if (offset + bytes.length > LOG_BYTES) offset = 0;
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  offset += bytes.length;
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
