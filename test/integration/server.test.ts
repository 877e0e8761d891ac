import { afterAll, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterAll(() => {
  for (const remove of temps) remove();
});

function tempDir(): string {
  const t = makeTempDir();
  temps.push(t.remove);
  return t.dir;
}

describe('the server process', () => {
  test('SIGTERM finishes in-flight commits, exits 0, and the events are there after restart', async () => {
    const dir = tempDir();
    const server = await startServer(dir);
    const posts = Array.from({ length: 64 }, (_, i) =>
      fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_id: `t${i}`, name: 'shutdown' }),
      }).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await Promise.race(posts); // the server is busy with the rest when the signal lands
    server.kill('SIGTERM');
    const statuses = await Promise.all(posts);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 202 || s === 503 || s === 0)).toBe(true);
    expect(await server.exited).toBe(0);
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);

    const again = await startServer(dir);
    for (const [i, status] of statuses.entries()) {
      if (status !== 202) continue;
      expect((await fetch(`${again.url}/api/v1/events/t${i}`)).status).toBe(200);
    }
    again.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  test('a bad setting stops the start with a message naming it', async () => {
    const proc = Bun.spawn([process.execPath, path.resolve(import.meta.dir, '../../src/main.ts')], {
      env: { ...process.env, PORT: 'eighty', DURABILITY: 'maybe', DATA_DIR: tempDir() },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(await proc.exited).toBe(2);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain('PORT="eighty": must be a whole number from 0 to 65535');
    expect(stderr).toContain('DURABILITY="maybe": must be one of fsync, os');
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
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o500);
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(503);
    chmodSync(dir, 0o700);
    server.kill('SIGTERM');
    await server.exited;
  });
});
