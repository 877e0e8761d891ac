import { Database } from 'bun:sqlite';
import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { signalLimits } from '../../src/core/index.ts';
import { killServers, type RunningServer, spawnServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
// A test that fails or times out leaves its servers running: they are killed before the next
// test, and before their data directories are removed.
afterEach(killServers);
afterAll(() => {
  for (const remove of temps) remove();
});

function tempDir(): string {
  const t = makeTempDir();
  temps.push(t.remove);
  return t.dir;
}

/**
 * How long a test waits for the server to get somewhere (a request read, a log line): far past
 * what a loaded machine takes, so reaching it means the server is stuck.
 */
const WAIT_MS_MAX = 30_000;
/**
 * The shutdown deadline of the tests that time a shutdown: its share for requests (3/4, 45 s)
 * is far past WAIT_MS_MAX, so a shutdown that took less than WAIT_MS_MAX was not held by them.
 */
const LONG_DEADLINE = '60s';

/** Resolves once `done()` holds; throws naming `what` after WAIT_MS_MAX. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await Bun.sleep(10);
  }
}

/** A raw connection that has sent `text` (part of a request), and the server has read it. */
async function halfSent(server: RunningServer, text: string): Promise<net.Socket> {
  const { hostname, port } = new URL(server.url);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(text, () => resolve(socket)); // in the server's receive queue
    });
    socket.on('error', reject);
  });
  // Signalled before it read the bytes, the server would have no request to hold shutdown.
  await until(() => unreadBytes(Number(port), socket.localPort) === 0, 'the server reads it');
  return socket;
}

/**
 * Bytes the kernel holds for the server on its connection from `clientPort` (Linux's
 * /proc/net/tcp, rx_queue); null while that connection is not listed.
 */
function unreadBytes(serverPort: number, clientPort: number | undefined): number | null {
  const hex = (port: number | undefined) => `:${port?.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const row of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const [, local, remote, , queues] = row.trim().split(/\s+/);
    if (local?.endsWith(hex(serverPort)) && remote?.endsWith(hex(clientPort))) {
      return Number.parseInt(queues?.split(':')[1] ?? '', 16);
    }
  }
  return null;
}

/** The processes whose parent is `pid` (Linux /proc): the server's SQL statement processes. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // After the command's closing parenthesis: state, then the parent's pid.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === pid) children.push(Number(entry));
  }
  return children;
}

/** Whether `pid` runs (a zombie, ended but not yet reaped, does not). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** CPU time past what a SQL statement's process takes to boot: its statement is running. */
const STATEMENT_CPU_S = 1;

/** CPU seconds `pid` has used (Linux /proc); null once it is gone. */
function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return null;
  }
}

/** Starts the server with `env` expecting it to stop at start: its exit code and stderr. */
async function failedStart(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const proc = spawnServer({ HOST: '127.0.0.1', PORT: '0', ...env });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  return { code, stderr };
}

/** Resolves once a stdout line of the server contains `text`. */
function lineWith(server: RunningServer, text: string): Promise<void> {
  return until(() => server.lines.some((l) => l.includes(text)), `a line with ${text}`);
}

/** Request-log lines of `path` with `status`. */
function logged(server: RunningServer, path: string, status: number): number {
  return server.lines.filter((l) => {
    if (!l.includes('"msg":"request"')) return false;
    const line = JSON.parse(l) as { path: string; status: number };
    return line.path === path && line.status === status;
  }).length;
}

/** POSTs event `id` to the server at `url`: status and body (status 0: the process exited). */
async function postEvent(url: string, id: string): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: id, name: 'x' }),
    });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' }; // the process exited (70) before answering
  }
}

describe('the server process', () => {
  test('SIGTERM finishes in-flight commits, exits 0, and the events are there after restart', async () => {
    const dir = tempDir();
    // Room for every batch in flight at the signal to be answered, however slow the machine.
    const server = await startServer(dir, { SHUTDOWN_DEADLINE: LONG_DEADLINE });
    // Batches big enough that most are still being read or committed when the signal lands.
    const BATCHES = 32;
    const PER_BATCH = 2000;
    const idOf = (b: number, i: number) => `t${b}-${i}`;
    let killedAt = Number.POSITIVE_INFINITY;
    const posts = Array.from({ length: BATCHES }, (_, b) =>
      fetch(`${server.url}/api/v1/events/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          events: Array.from({ length: PER_BATCH }, (_, i) => ({
            event_id: idOf(b, i),
            name: 'shutdown',
          })),
        }),
      }).then(
        (r) => ({ status: r.status, afterKill: performance.now() > killedAt }),
        () => ({ status: 0, afterKill: true }),
      ),
    );
    await Promise.race(posts); // the server is busy with the rest when the signal lands
    killedAt = performance.now();
    server.kill('SIGTERM');
    const answers = await Promise.all(posts);
    // Work in flight at the signal was finished and acknowledged, not dropped.
    expect(answers.filter((a) => a.status === 202 && a.afterKill).length).toBeGreaterThan(0);
    // 0: refused at connect once the server stopped listening (never sent, so never stored).
    expect(answers.every((a) => [202, 503, 0].includes(a.status))).toBe(true);
    expect(await server.exited).toBe(0);
    await server.output;
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    // Every answer sent, those of the shutdown included, has its request-log line.
    for (const status of [202, 503]) {
      const sent = answers.filter((a) => a.status === status).length;
      expect([status, logged(server, '/api/v1/events/batch', status)]).toEqual([status, sent]);
    }

    const again = await startServer(dir);
    for (const [b, answer] of answers.entries()) {
      const stored = (await fetch(`${again.url}/api/v1/events/${idOf(b, PER_BATCH - 1)}`)).status;
      expect([b, stored]).toEqual([b, answer.status === 202 ? 200 : 404]);
    }
    again.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  test('SIGTERM lets a running SQL statement answer before the server exits', async () => {
    const dir = tempDir();
    // The statement's time limit and the shutdown's share for requests both far past its run.
    const env = { SHUTDOWN_DEADLINE: LONG_DEADLINE, QUERY_TIMEOUT: LONG_DEADLINE };
    const server = await startServer(dir, env);
    // ~2–3 s of work in the statement's process on an idle machine.
    const sql = 'SELECT sum(hash(x)) AS n FROM (SELECT unnest(range(5000000)) AS x)';
    const pending = fetch(`${server.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql }),
    });
    // The events are exported for the statement while its request runs: the signal lands then.
    const staging = path.join(dir, 'staging');
    const exported = () =>
      fs.existsSync(staging) && fs.readdirSync(staging).some((f) => f.startsWith('export-'));
    await until(exported, 'the statement exports its events');
    server.kill('SIGTERM');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { row_count: number }).row_count).toBe(1);
    expect(await server.exited).toBe(0);
    await server.output;
    expect(server.lines.some((l) => l.includes('requests still running'))).toBe(false);
  });

  // SIGHUP: the terminal the server runs in closed, which signals its whole process group.
  test.each(['SIGTERM', 'SIGHUP'] as const)(
    '%s to the whole process group still lets a running SQL statement answer',
    async (signal) => {
      // Ctrl-C in a terminal, and systemd's default KillMode, signal every process of the group
      // or cgroup: the statement's own process gets the signal too. It was ended by it, and the
      // statement answered 400 "the query stopped the process it ran in".
      const dir = tempDir();
      const env = { SHUTDOWN_DEADLINE: LONG_DEADLINE, QUERY_TIMEOUT: LONG_DEADLINE };
      const server = await startServer(dir, env);
      // Seconds of CPU in the statement's process (its boot takes ~0.2 s), little memory.
      const sql =
        'SELECT count(*) AS n FROM (SELECT unnest(range(15000)) AS a), ' +
        '(SELECT unnest(range(15000)) AS b) WHERE hash(a + b) % 7 = 0';
      const pending = fetch(`${server.url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      const running = () =>
        childrenOf(server.proc.pid).some((pid) => (cpuSecondsOf(pid) ?? 0) >= STATEMENT_CPU_S);
      await until(running, 'the statement runs in its process');
      const children = childrenOf(server.proc.pid);
      for (const pid of [server.proc.pid, ...children]) process.kill(pid, signal);
      const res = await pending;
      expect(await res.text()).toContain('"row_count":1');
      expect(res.status).toBe(200);
      expect(await server.exited).toBe(0);
      // They leave the signal to the server, not their end: they end with it.
      await until(() => children.every((pid) => !isRunning(pid)), 'the SQL processes end');
    },
  );

  // SIGHUP (the terminal or ssh session closed) ended the process at once: no snapshot, and
  // the next start replayed the log and rebuilt the deduplication index.
  test('SIGHUP shuts down as SIGTERM does, and twice at once is still one shutdown', async () => {
    const dir = tempDir();
    const server = await startServer(dir);
    const res = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'before-hup', name: 'signup' }),
    });
    expect(res.status).toBe(202);
    // As the kernel and the shell both send it when a session ends, within signalLimits.repeatMs.
    server.kill('SIGHUP');
    server.kill('SIGHUP');
    expect(await server.exited).toBe(0);
    await server.output;
    const logged = (text: string) => server.lines.some((l) => l.includes(text));
    expect(logged('"msg":"shutting down","signal":"SIGHUP"')).toBe(true);
    expect(logged('second signal')).toBe(false);
    expect(logged('deduplication index snapshot written')).toBe(true);
    expect(logged('"msg":"stopped"')).toBe(true);

    const again = await startServer(dir);
    expect(again.lines.some((l) => l.includes('loaded from its snapshot'))).toBe(true);
    expect((await fetch(`${again.url}/api/v1/events/before-hup`)).status).toBe(200);
    again.kill('SIGHUP');
    expect(await again.exited).toBe(0);
  });

  test('a connection with half-sent headers does not hold shutdown', async () => {
    const server = await startServer(tempDir(), { SHUTDOWN_DEADLINE: LONG_DEADLINE });
    const socket = await halfSent(server, 'GET /health HTTP/1.1\r\nHost: tally\r\n');
    const signalledAt = performance.now();
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // Held, it would stop at the 45 s cut: well past this bound, which a loaded machine meets.
    expect(performance.now() - signalledAt).toBeLessThan(WAIT_MS_MAX);
    await server.output;
    expect(server.lines.some((l) => l.includes('requests still running'))).toBe(false);
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    socket.destroy();
  });

  test('a body still arriving is cut at its share of the deadline; the stores close', async () => {
    // Cut at 9 s, which leaves 3 s to close the connections and the stores (with fsync).
    const server = await startServer(tempDir(), { SHUTDOWN_DEADLINE: '12s' });
    const socket = await halfSent(
      server,
      'POST /api/v1/events HTTP/1.1\r\nHost: tally\r\ncontent-type: application/json\r\n' +
        'content-length: 100\r\n\r\n{"name":',
    );
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    server.kill('SIGTERM');
    // Not the deadline's exit 1: the request is cut at 3/4 of it and the stores are closed.
    expect(await server.exited).toBe(0);
    await server.output;
    expect(server.lines.some((l) => l.includes('requests still running'))).toBe(true);
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    // The client, still sending, got no answer: its connection was closed. The log says so,
    // not 499 (nginx's "the client closed the connection").
    await ended;
    expect(Buffer.concat(received).toString()).toBe('');
    expect(logged(server, '/api/v1/events', 444)).toBe(1);
    expect(logged(server, '/api/v1/events', 499)).toBe(0);
    socket.destroy();
  });

  test('a second signal during shutdown exits at once', async () => {
    const server = await startServer(tempDir(), { SHUTDOWN_DEADLINE: LONG_DEADLINE });
    // A body that never completes holds the first shutdown for 45 s.
    const socket = await halfSent(
      server,
      'POST /api/v1/events HTTP/1.1\r\nHost: tally\r\ncontent-length: 100\r\n\r\n{',
    );
    server.kill('SIGTERM');
    await lineWith(server, '"msg":"shutting down"');
    // Sooner, it is taken for the first one delivered twice (npm's forward of a Ctrl-C).
    await Bun.sleep(signalLimits.repeatMs);
    const signalledAt = performance.now();
    server.kill('SIGINT');
    expect(await server.exited).toBe(1);
    expect(performance.now() - signalledAt).toBeLessThan(WAIT_MS_MAX);
    await server.output;
    expect(server.lines.some((l) => l.includes('second signal during shutdown'))).toBe(true);
    socket.destroy();
  });

  test('a shutdown past SHUTDOWN_DEADLINE is forced: exit 1, and a restart has every acknowledged event', async () => {
    const dir = tempDir();
    // Closing the stores waits 60 s (FAULT_CLOSE_DELAY): far past the 1 s deadline.
    const server = await startServer(dir, { SHUTDOWN_DEADLINE: '1s', FAULT_CLOSE_DELAY: '60s' });
    const res = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'kept', name: 'signup' }),
    });
    expect(res.status).toBe(202);
    const signalledAt = performance.now();
    server.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(performance.now() - signalledAt).toBeLessThan(WAIT_MS_MAX);
    await server.output;
    expect(server.lines.some((l) => l.includes('the stores close late'))).toBe(true);
    expect(server.lines.some((l) => l.includes('shutdown deadline passed'))).toBe(true);
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(false);

    const again = await startServer(dir);
    const stored = await fetch(`${again.url}/api/v1/events/kept`);
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { name: string }).name).toBe('signup');
    again.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  test('a host name under 4 characters without a port is a 400 saying so, not a 404', async () => {
    // Elysia's router reads the path from index 11 of the URL (elysiajs/elysia#748), and Bun
    // leaves a default port out of it: Host api and api:80 alike were a 404 on every route.
    const server = await startServer(tempDir());
    const { hostname, port } = new URL(server.url);
    const answer = (host: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        });
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    for (const host of ['api', 'api:80', 'ab']) {
      const text = await answer(host);
      expect(text.split('\r\n')[0], host).toBe('HTTP/1.1 400 Bad Request');
      expect(text, host).toContain('a host name shorter than 4 characters works only with a port');
      expect(text, host).toContain('"code":"bad_request"');
    }
    for (const host of ['api:8080', 'abcd', 'api.internal']) {
      expect((await answer(host)).split('\r\n')[0], host).toBe('HTTP/1.1 200 OK');
    }
  });

  // README Limits: Bun takes a client that half-closes its connection after its request (`nc
  // -N`) for one that went away: it is sent no answer; a read is stopped and logged 499, and an
  // event is stored all the same (logged 202).
  test('a client that half-closes after its request gets no answer; a read is logged 499', async () => {
    const server = await startServer(tempDir());
    const { hostname, port } = new URL(server.url);
    const halfClosed = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => socket.end(request));
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const body = JSON.stringify({ event_id: 'half', name: 'x' });
    const sent = await halfClosed(
      'POST /api/v1/events HTTP/1.1\r\nHost: tally\r\ncontent-type: application/json\r\n' +
        `content-length: ${body.length}\r\n\r\n${body}`,
    );
    expect(sent).toBe('');
    await until(() => logged(server, '/api/v1/events', 202) === 1, 'the event logged');
    const read = await halfClosed('GET /api/v1/stats HTTP/1.1\r\nHost: tally\r\n\r\n');
    expect(read).toBe('');
    await until(() => logged(server, '/api/v1/stats', 499) === 1, 'the read logged 499');
    // The event was stored: the same id again is a duplicate.
    const again = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect([again.status, ((await again.json()) as { duplicate: boolean }).duplicate]).toEqual([
      202,
      true,
    ]);
  });

  test('a bad setting stops the start with a message naming it', async () => {
    const proc = spawnServer({
      PORT: 'eighty',
      DURABILITY: 'maybe',
      RETENTION_DAYS: '-1',
      DATA_DIR: tempDir(),
    });
    expect(await proc.exited).toBe(2);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain('PORT="eighty": must be a whole number from 0 to 65535');
    expect(stderr).toContain('DURABILITY="maybe": must be one of fsync, os');
    expect(stderr).toContain(
      'RETENTION_DAYS="-1": must be a whole number of days from 1 to 36500, or 0 to keep',
    );
  });

  test('a damaged log is cut at start and the cut is logged, with where its bytes were kept', async () => {
    const dir = tempDir();
    const first = await startServer(dir);
    for (const id of ['a', 'b', 'c']) {
      const res = await fetch(`${first.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_id: id, name: 'x' }),
      });
      expect(res.status).toBe(202);
    }
    first.kill('SIGKILL');
    await first.exited;
    // One bit of the first record's payload flips on disk; the two records after it are whole.
    const walDir = path.join(dir, 'wal');
    const file = path.join(walDir, fs.readdirSync(walDir).sort()[0] as string);
    const bytes = fs.readFileSync(file);
    bytes[20] = (bytes[20] as number) ^ 1;
    fs.writeFileSync(file, bytes);

    const again = await startServer(dir);
    const line = again.lines.find((l) => l.includes('write-ahead log cut'));
    expect(JSON.parse(line as string)).toMatchObject({
      level: 'error',
      offset: 0,
      reason: 'checksum mismatch',
      valid_records_after: 2,
      kept_in: `${file}.damaged-0`,
    });
    expect(fs.existsSync(`${file}.damaged-0`)).toBe(true);
    again.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  test('a bootstrap.json that cannot be written stops the start with one line, exit 2', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'bootstrap.json')); // a directory where the file goes
    const { code, stderr } = await failedStart({ AUTH_MODE: 'required', DATA_DIR: dir });
    expect(code).toBe(2);
    expect(stderr).toStartWith(`tally: cannot use DATA_DIR ${dir}: EISDIR`);
    expect(stderr.trim().split('\n')).toHaveLength(1); // a message, not a trace
    // Its transaction made nothing: once the file can be written, the next start bootstraps.
    fs.rmdirSync(path.join(dir, 'bootstrap.json'));
    const server = await startServer(dir, { AUTH_MODE: 'required' });
    expect(server.lines.some((line) => line.includes('bootstrap credentials written'))).toBe(true);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  test('a taken bootstrap admin email stops the start with a message, not a trace', async () => {
    const dir = tempDir();
    const open = await startServer(dir);
    const register = await fetch(`${open.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@tally.local', password: 'a long passphrase' }),
    });
    expect(register.status).toBe(201);
    open.kill('SIGTERM');
    await open.exited;
    const proc = spawnServer({
      HOST: '127.0.0.1',
      PORT: '0',
      AUTH_MODE: 'required',
      DATA_DIR: dir,
    });
    expect(await proc.exited).toBe(2);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain('set BOOTSTRAP_ADMIN_EMAIL to an unused address');
    expect(stderr).not.toContain('    at ');
  });

  test('a data directory the store cannot use stops the start with one line, exit 2', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const garbage = tempDir();
    fs.writeFileSync(path.join(garbage, 'tally.sqlite'), 'not a database '.repeat(100));
    const newer = tempDir();
    const first = await startServer(newer);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const db = new Database(path.join(newer, 'tally.sqlite'));
    db.run('PRAGMA user_version = 999');
    db.close();
    for (const [dir, message] of [
      [file, `cannot use DATA_DIR ${file}: EEXIST: file already exists`],
      [garbage, `cannot use DATA_DIR ${garbage}: tally.sqlite: file is not a database`],
      [newer, `cannot use DATA_DIR ${newer}: tally.sqlite is at schema version 999, newer`],
    ]) {
      const { code, stderr } = await failedStart({ DATA_DIR: dir as string });
      expect([dir, code]).toEqual([dir, 2]);
      expect(stderr).toStartWith(`tally: ${message}`);
      expect(stderr.trim().split('\n')).toHaveLength(1); // a message, not a trace
    }
  });

  // README Settings: a DATA_DIR that does not exist is made (./data on a fresh clone, a new
  // volume path); only one that cannot be made or used stops the start.
  test('a data directory that does not exist yet is created, with its parents', async () => {
    const dir = path.join(tempDir(), 'new', 'data');
    const server = await startServer(dir);
    expect(fs.statSync(path.join(dir, 'tally.sqlite')).isFile()).toBe(true);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const under = path.join(tempDir(), 'a-file');
    fs.writeFileSync(under, 'not a directory');
    const { code, stderr } = await failedStart({ DATA_DIR: path.join(under, 'data') });
    expect(code).toBe(2);
    expect(stderr).toStartWith(`tally: cannot use DATA_DIR ${path.join(under, 'data')}: `);
  });

  test('a segment cut short or missing stops the start with one line naming it, exit 2', async () => {
    const dir = tempDir();
    const server = await startServer(dir, { FLUSH_INTERVAL: '50ms' });
    const posted = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'e1', name: 'x' }),
    });
    expect(posted.status).toBe(202);
    const segments = path.join(dir, 'segments');
    const segmentFile = () =>
      (fs.readdirSync(segments, { recursive: true }) as string[]).find((f) =>
        /[0-9a-f]\.parquet$/.test(f),
      );
    await until(() => segmentFile() !== undefined, 'a flushed segment');
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const file = path.join(segments, segmentFile() as string);
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, 100));
    const cut = await failedStart({ DATA_DIR: dir });
    expect(cut.code).toBe(2);
    expect(cut.stderr).toStartWith(`tally: cannot use DATA_DIR ${dir}: a segment file cannot be`);
    expect(cut.stderr.trim().split('\n')).toHaveLength(1); // a message, not a trace
    fs.rmSync(file);
    const gone = await failedStart({ DATA_DIR: dir });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`${path.basename(file)} is missing, though the catalog lists it`);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a write-ahead log file missing between two stops the start with one line, exit 2', async () => {
    const dir = tempDir();
    const server = await startServer(dir);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const wal = path.join(dir, 'wal');
    const newest = fs.readdirSync(wal).sort().at(-1) as string;
    const stray = `${String(Number(newest.slice(0, 10)) + 2).padStart(10, '0')}.wal`;
    fs.writeFileSync(path.join(wal, stray), '');
    const { code, stderr } = await failedStart({ DATA_DIR: dir });
    expect(code).toBe(2);
    expect(stderr).toStartWith(`tally: cannot use DATA_DIR ${dir}: write-ahead log file `);
    // Every file holds no record (nothing was sent): the refusal says what to do either way.
    expect(stderr).toContain(`(the log has ${newest}, ${stray}); ${newest} holds no record`);
    expect(stderr).toContain(`delete ${newest} (the rest of that release) and start again`);
    expect(stderr).toContain('restore them from a backup');
    expect(stderr.trim().split('\n')).toHaveLength(1); // a message, not a trace
  });

  test('a start that fails on the store says when its disk is below DISK_FREE_BYTES_MIN', async () => {
    // A full disk makes SQLite say "disk I/O error" (SQLITE_IOERR_SHMSIZE), not that it is full.
    const garbage = tempDir();
    fs.writeFileSync(path.join(garbage, 'tally.sqlite'), 'not a database '.repeat(100));
    const min = String(2 ** 50);
    const { code, stderr } = await failedStart({ DATA_DIR: garbage, DISK_FREE_BYTES_MIN: min });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /: tally\.sqlite: file is not a database \(SQLITE_NOTADB\); only \d+ bytes free on its disk \(DISK_FREE_BYTES_MIN is 1125899906842624\)\n$/,
    );
    const roomy = await failedStart({ DATA_DIR: garbage, DISK_FREE_BYTES_MIN: '0' });
    expect(roomy.stderr).toEndWith('(SQLITE_NOTADB)\n');
  });

  test('a start in AUTH_MODE=required that cannot listen writes and shows no secret', async () => {
    const busy = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') });
    try {
      const dir = tempDir();
      const { code, stderr } = await failedStart({
        DATA_DIR: dir,
        PORT: String(busy.port),
        AUTH_MODE: 'required',
      });
      expect(code).toBe(2);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${busy.port}`);
      expect(stderr).not.toContain('admin password');
      expect(fs.existsSync(path.join(dir, 'bootstrap.json'))).toBe(false);
    } finally {
      busy.stop(true);
    }
  });

  test('bodies past the server cap are refused by the server; up to it, by the route', async () => {
    const server = await startServer(tempDir());
    const post = (path: string, body: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    // 7 MiB on the login route: past its own 64 KiB limit, its own JSON 413.
    const password = 'x'.repeat(7 * 1024 * 1024);
    const login = await post('/api/v1/auth/login', JSON.stringify({ email: 'a@b.c', password }));
    expect(login.status).toBe(413);
    expect(((await login.json()) as { code: string }).code).toBe('payload_too_large');
    // 5.5 MiB on the batch route: past its 5 MB limit, under the cap: its own JSON 413.
    const pad = 'y'.repeat(5.5 * 1024 * 1024);
    const batch = await post('/api/v1/events/batch', JSON.stringify({ events: [{ name: pad }] }));
    expect(batch.status).toBe(413);
    expect(((await batch.json()) as { code: string }).code).toBe('payload_too_large');
    // The cap is 64 MiB, README's "Ingest": one byte past it is Bun's own 413, empty and closing
    // the connection; at it, the route's.
    const cap = 64 * 1024 * 1024;
    const bytes = 'z'.repeat(cap + 1);
    const past = await post('/api/v1/events/batch', bytes);
    expect(past.status).toBe(413);
    expect(past.headers.get('connection')).toBe('close');
    expect(await past.text()).toBe('');
    const at = await post('/api/v1/events/batch', bytes.slice(1));
    expect(at.status).toBe(413);
    expect(((await at.json()) as { code: string }).code).toBe('payload_too_large');
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  test('a second server refuses the data directory or the port another one uses', async () => {
    const dir = tempDir();
    const first = await startServer(dir);
    const start = (env: Record<string, string>) => spawnServer({ HOST: '127.0.0.1', ...env });
    // The same data directory, another port: refused before it touches the log.
    const sameDir = start({ PORT: '0', DATA_DIR: dir });
    expect(await sameDir.exited).toBe(2);
    expect(await new Response(sameDir.stderr).text()).toContain(
      `the data directory ${dir} is in use by another process`,
    );
    // The same port, another data directory: the bind fails (no shared SO_REUSEPORT).
    const port = new URL(first.url).port;
    const samePort = start({ PORT: port, DATA_DIR: tempDir() });
    expect(await samePort.exited).toBe(2);
    const stderr = await new Response(samePort.stderr).text();
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    expect(stderr).not.toContain('    at '); // a message, not a trace
    // A data directory that cannot be made: named, with the reason.
    const noDir = start({ PORT: '0', DATA_DIR: '/proc/no-such-dir/data' });
    expect(await noDir.exited).toBe(2);
    expect(await new Response(noDir.stderr).text()).toContain(
      'cannot use DATA_DIR /proc/no-such-dir/data',
    );
    const res = await fetch(`${first.url}/health`);
    expect(res.status).toBe(200);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  test('a log deleted under the running server: /ready is 503 and no write is acknowledged', async () => {
    const dir = tempDir();
    const server = await startServer(dir);
    const post = async (id: string) => (await postEvent(server.url, id)).status;
    expect(await post('before')).toBe(202);
    for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toBe(
      'the write-ahead log file wal/0000000001.wal was deleted',
    );
    // Refused at admission (503), or its commit failed and the process exited to recover.
    expect(await post('after')).not.toBe(202);
    server.kill('SIGTERM');
    expect([0, 70]).toContain(await server.exited);
    const again = await startServer(dir);
    expect((await fetch(`${again.url}/api/v1/events/after`)).status).toBe(404);
    again.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  // README Limits: a failure of the log the running process cannot recover from is fatal (exit
  // 70), so that a restart reads the log back; the request waiting on it is not acknowledged.
  test('a commit whose log file was deleted is fatal: exit 70, its event not stored', async () => {
    // The commit must meet the deletion before ingest's once-a-second disk check does (that one
    // refuses with 503 "… was deleted" and the server stays up, README "Deleting the data
    // directory's files"): a host that stalls a second between the two requests gives the check
    // the race, and the scenario is run again in a fresh directory.
    for (let attempt = 1; ; attempt++) {
      const dir = tempDir();
      const server = await startServer(dir);
      expect((await postEvent(server.url, 'before')).status).toBe(202);
      fs.rmSync(path.join(dir, 'wal'), { recursive: true });
      const after = await postEvent(server.url, 'after');
      if (after.text.includes('was deleted')) {
        server.kill('SIGKILL');
        await server.exited;
        if (attempt < 3) continue;
        throw new Error('the disk check saw the deletion before the commit, 3 times out of 3');
      }
      expect(after.status).not.toBe(202);
      expect(await server.exited).toBe(70);
      await checkRecovered(server, dir);
      return;
    }
  });

  /** After the fatal exit: the reason logged, and a restart does not have the event. */
  async function checkRecovered(server: RunningServer, dir: string): Promise<void> {
    await server.output;
    expect(server.lines.some((l) => l.includes('exiting so a restart can recover'))).toBe(true);
    fs.mkdirSync(path.join(dir, 'wal'));
    const again = await startServer(dir);
    expect((await fetch(`${again.url}/api/v1/events/after`)).status).toBe(404);
    again.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }

  test('a server a test leaves running is killed (SIGKILL) by killServers, run after each', async () => {
    const server = await startServer(tempDir());
    await killServers();
    expect(server.proc.signalCode).toBe('SIGKILL');
    expect((await fetch(`${server.url}/health`).catch(() => null))?.status).toBeUndefined();
  });

  test('/ready is 503 when the data directory is not writable', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; the unwritable case is covered through the disk-space check.
      const server = await startServer(tempDir(), { DISK_FREE_BYTES_MIN: String(2 ** 50) });
      const res = await fetch(`${server.url}/ready`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { detail: string }).detail).toContain('bytes free');
      server.kill('SIGTERM');
      await server.exited;
      return;
    }
    const dir = tempDir();
    const server = await startServer(dir);
    fs.chmodSync(dir, 0o500);
    try {
      const res = await fetch(`${server.url}/ready`);
      expect(res.status).toBe(503);
    } finally {
      fs.chmodSync(dir, 0o700); // so the directory can be removed whatever happened
    }
    server.kill('SIGTERM');
    await server.exited;
  });
});
