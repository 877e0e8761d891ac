// A copy of damaged log bytes (`wal/<file>.damaged-<offset>`) rewritten by a project's deletion
// or a person's erasure, in the real server killed (SIGKILL) after the rewrite's temp file is
// written and after its rename (FAULT_POINT): restarted, the cut is made (the deletion's at the
// start, the erasure's as it resumes), no temp file is left, and the copy keeps its damage and
// the other project's record.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAMAGED_COPY_FAULT_POINTS } from '../../src/storage/index.ts';
import { decodeFrame, framesFrom } from '../../src/storage/wal-frame.ts';
import { killServers, startServer } from '../helpers/server.ts';
import { call, signIn } from '../helpers/server-calls.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

/** Nothing flushes on its own: the records stay in the log file to be damaged. */
const SLOW = { FLUSH_INTERVAL: '1h' };
const USER = { email: 'ada@x.io', password: 'correct horse 1' };
const MARKER = 'acme-person-secret';

/** One request, so one log record. */
async function send(url: string, tenant: string, id: string, user: string, marker = '') {
  const event = { event_id: id, name: 'signup', tenant_id: tenant, user_id: user };
  const body = { events: [{ ...event, properties: { marker } }] };
  expect((await call(url, 'POST', '/api/v1/events/batch', body)).status).toBe(202);
}

/**
 * Two projects and four log records (globex's first), the server killed before any flush, and
 * the first record's payload damaged: the next start keeps the file in a copy. Returns the
 * copy's path and the damaged record's bytes.
 */
async function setUp(dataDir: string): Promise<{ copy: string; damaged: Buffer }> {
  const first = await startServer(dataDir, SLOW);
  const { url } = first;
  expect((await call(url, 'POST', '/api/v1/auth/register', USER)).status).toBe(201);
  const token = await signIn(url, USER);
  for (const id of ['acme', 'globex']) {
    const made = await call(url, 'POST', '/api/v1/projects', { id, name: id }, token);
    expect(made.status).toBe(201);
  }
  await send(url, 'globex', 'g0', 'u9'); // the record to be damaged
  await send(url, 'acme', 'a1', 'u1', MARKER);
  await send(url, 'globex', 'g1', 'u1');
  first.kill('SIGKILL');
  await first.exited;
  const walDir = path.join(dataDir, 'wal');
  const [name] = fs.readdirSync(walDir).sort();
  const file = path.join(walDir, name as string);
  const bytes = fs.readFileSync(file);
  const record = decodeFrame(bytes, 0);
  if (record.kind !== 'frame') throw new Error('no first record');
  bytes[16] = (bytes[16] as number) ^ 1;
  fs.writeFileSync(file, bytes);
  return {
    copy: path.join(walDir, `${name}.damaged-0`),
    damaged: Buffer.from(bytes.subarray(0, record.next)),
  };
}

/** The event ids of each record readable in `file` (a copy). */
function recordIds(file: string): string[] {
  return [...framesFrom(fs.readFileSync(file), 0, 1)].map(
    (frame) => (JSON.parse(Buffer.from(frame.payload).toString()) as { event_id: string }).event_id,
  );
}

const kinds = {
  deletion: (url: string, token: string) =>
    call(url, 'DELETE', '/api/v1/projects/acme', undefined, token),
  erasure: (url: string, token: string) =>
    call(url, 'POST', '/api/v1/projects/acme/erasures', { user_id: 'u1' }, token),
};

describe('a damaged log copy rewritten in a server killed with SIGKILL', () => {
  for (const [kind, start] of Object.entries(kinds)) {
    for (const point of DAMAGED_COPY_FAULT_POINTS) {
      test(`the ${kind} killed at ${point}: the cut is made after a restart`, async () => {
        const temp = makeTempDir('tally-copy-');
        temps.push(temp.remove);
        const { copy, damaged } = await setUp(temp.dir);
        const doomed = await startServer(temp.dir, { ...SLOW, FAULT_POINT: point });
        expect(recordIds(copy)).toEqual(['a1', 'g1']); // the start kept the copy
        await start(doomed.url, await signIn(doomed.url, USER)).catch(() => null); // killed meanwhile
        await doomed.exited;
        expect(doomed.proc.signalCode).toBe('SIGKILL');
        if (point === 'copies:after-write') {
          expect(fs.existsSync(`${copy}.erasing`)).toBe(true);
          expect(fs.readFileSync(copy).includes(MARKER)).toBe(true); // whole, as it was
        }

        const again = await startServer(temp.dir, SLOW);
        try {
          const token = await signIn(again.url, USER);
          for (let i = 0; kind === 'erasure'; i++) {
            const res = await call(
              again.url,
              'GET',
              '/api/v1/projects/acme/erasures',
              undefined,
              token,
            );
            const [erasure] = (await res.json()) as { status: string }[];
            if (erasure?.status === 'done') break;
            if (i > 400) throw new Error(`the erasure never ended: ${JSON.stringify(erasure)}`);
            await Bun.sleep(25);
          }
          const bytes = fs.readFileSync(copy);
          expect(bytes.includes(MARKER)).toBe(false);
          expect(bytes.subarray(0, damaged.length).equals(damaged)).toBe(true);
          expect(recordIds(copy)).toEqual(['g1']);
          expect(fs.readdirSync(path.dirname(copy)).filter((n) => n.endsWith('.erasing'))).toEqual(
            [],
          );
        } finally {
          again.kill('SIGTERM');
          await again.exited;
        }
      }, 60_000);
    }
  }
});
