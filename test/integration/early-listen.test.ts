// The server listens as soon as its data directory is locked and opens the store behind it:
// while the store opens, /health is 200, /ready and every other route 503 not_ready with
// Retry-After; a second process on the same DATA_DIR still cannot start; SIGTERM then exits 0.
// FAULT_OPEN_DELAY holds the open long enough to look (as a long log replay or dedup rebuild).

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killServers, type RunningServer, spawnServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(killServers);
afterAll(() => {
  for (const remove of temps) remove();
});

function tempDir(): string {
  const t = makeTempDir();
  temps.push(t.remove);
  return t.dir;
}

/** Far past what the checks below take on a loaded machine: the store is still opening. */
const OPEN_DELAY = '8s';
const WAIT_MS_MAX = 30_000;

function logged(server: RunningServer, msg: string): boolean {
  return server.lines.some((line) => line.includes(`"msg":"${msg}"`));
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await Bun.sleep(10);
  }
}

function ingest(url: string): Promise<Response> {
  return fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: 'early-1', name: 'signup' }),
  });
}

describe('a server whose store is still opening', () => {
  test('answers /health 200, /ready and ingest 503 with Retry-After, then 202 once ready', async () => {
    const dir = tempDir();
    const server = await startServer(dir, { FAULT_OPEN_DELAY: OPEN_DELAY }, 'listening');

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      detail: 'starting: recovering the store',
      code: 'not_ready',
    });

    const early = await ingest(server.url);
    expect(early.status).toBe(503);
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await early.json()) as { detail: string; code: string };
    // README "Operations": this answer, on every route but /health and /ready.
    expect(body).toEqual({
      detail: 'the server is starting: recovering the store; retry later',
      code: 'not_ready',
    });
    for (const route of ['/api/v1/stats', '/dashboard', '/openapi', '/openapi/json']) {
      const res = await fetch(`${server.url}${route}`);
      expect([route, res.status, res.headers.get('retry-after')]).toEqual([route, 503, '1']);
    }
    expect(logged(server, 'store opened')).toBe(false); // all of the above was before the open

    // The directory is locked before the listen: a second process refuses to start.
    const second = spawnServer({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: dir });
    expect(await second.exited).toBe(2);
    expect(await new Response(second.stderr).text()).toContain('is in use by another process');

    await until(() => logged(server, 'ready'), 'the ready line');
    const accepted = await ingest(server.url);
    expect(accepted.status).toBe(202);
    // The early ingest wrote nothing: the same event_id is new, not a duplicate.
    expect(((await accepted.json()) as { status: string }).status).toBe('accepted');
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);

  // SIGHUP (the terminal closed) ended the process with no close of its listener; SIGINT is
  // Ctrl-C (README "Operations": any of the three while the store opens exits 0 at once).
  test.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    '%s while the store opens exits 0 without opening it or writing a snapshot',
    async (signal) => {
      const dir = tempDir();
      const server = await startServer(dir, { FAULT_OPEN_DELAY: OPEN_DELAY }, 'listening');
      server.kill(signal);
      expect(await server.exited).toBe(0);
      await server.output;
      expect(logged(server, 'shutting down while the store opens')).toBe(true);
      expect(logged(server, 'store opened')).toBe(false);
      expect(server.lines.some((line) => line.includes('snapshot written'))).toBe(false);
      // The lock went with the process: the next start opens the store.
      const next = await startServer(dir);
      expect((await ingest(next.url)).status).toBe(202);
      next.kill('SIGTERM');
      expect(await next.exited).toBe(0);
    },
    60_000,
  );

  // README "Operations": "the first start's bootstrap credentials (AUTH_MODE=required) are
  // written and shown only once the store is open, just before `ready`".
  test('AUTH_MODE=required: the bootstrap credentials wait for the open store', async () => {
    const dir = tempDir();
    const env = { FAULT_OPEN_DELAY: '3s', AUTH_MODE: 'required' };
    const server = await startServer(dir, env, 'listening');
    const file = path.join(dir, 'bootstrap.json');
    expect(fs.existsSync(file)).toBe(false);
    expect(server.errorLines.join('\n')).not.toContain('admin password');
    expect(logged(server, 'store opened')).toBe(false);
    await until(() => logged(server, 'ready'), 'the ready line');
    expect(fs.existsSync(file)).toBe(true); // written before the ready line
    await until(
      () => server.errorLines.some((l) => l.includes('admin password')),
      'the bootstrap banner',
    );
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
