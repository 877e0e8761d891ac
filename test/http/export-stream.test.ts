// The bodies of an export (http/export-stream.ts) whose client stops taking them: once no chunk
// or page was asked for during stallMs, the stream fails and what it holds is freed (a Parquet
// file's descriptor, and so its disk space; the pages not read); a client that keeps taking,
// however slowly, is never cut.

import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../src/core/index.ts';
import {
  type CredentialsCheck,
  credentialsCheck,
  fileStream,
  type StreamControl,
  textStream,
} from '../../src/http/export-stream.ts';
import { serverWorkOf } from '../../src/http/server-work.ts';
import { queryLimits } from '../../src/query/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const STALL_MS = 100;

let temp: ReturnType<typeof makeTempDir> | undefined;
afterEach(() => {
  temp?.remove();
  temp = undefined;
});

function controlOf(logs: string[]): StreamControl {
  return {
    allowed: () => true,
    work: serverWorkOf(null, new Request('http://localhost/api/v1/export')),
    stallMs: STALL_MS,
    log: createLogger('info', (line) => logs.push(line)),
    ended: () => logs.push('ended'),
  };
}

/** A file of three chunks, as a Parquet export hands it over; and whether it is still open. */
function exportFile() {
  temp = makeTempDir('tally-export-stream-');
  const file = path.join(temp.dir, 'temp-export.parquet');
  fs.writeFileSync(file, new Uint8Array(queryLimits.exportFileChunkBytes * 3).fill(7));
  const open = () =>
    fs.readdirSync('/proc/self/fd').some((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false;
      }
    });
  return { file: { path: file, remove: () => fs.rmSync(file, { force: true }) }, open };
}

async function* threePages() {
  for (const page of [1, 2, 3]) yield [{ page }];
}

test('a Parquet body its client stops taking is cut and its file closed', async () => {
  const logs: string[] = [];
  const { file, open } = exportFile();
  const body = await fileStream(file, new AbortController().signal, controlOf(logs));
  const reader = body.getReader();
  expect((await reader.read()).done).toBe(false);
  expect(open()).toBe(true);
  await Bun.sleep(STALL_MS * 3);
  expect(open()).toBe(false);
  await expect(reader.read()).rejects.toMatchObject({ code: 'client_closed' });
  expect(logs.filter((l) => l.includes('its client took nothing'))).toHaveLength(1);
  expect(logs).toContain('ended');
});

test('an NDJSON or CSV body its client stops taking is cut; no further page is read', async () => {
  const logs: string[] = [];
  const stop = new AbortController();
  const body = await textStream(
    threePages(),
    { head: '', format: (events) => `${JSON.stringify(events)}\n` },
    stop,
    controlOf(logs),
  );
  const reader = body.getReader();
  expect((await reader.read()).done).toBe(false);
  await Bun.sleep(STALL_MS * 3);
  expect(stop.signal.aborted).toBe(true);
  await expect(reader.read()).rejects.toMatchObject({ code: 'client_closed' });
  expect(logs.filter((l) => l.includes('its client took nothing'))).toHaveLength(1);
  expect(logs).toContain('ended');
});

/** Reads to the end, waiting half of stallMs before asking for each chunk; the text. */
async function slowly(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = '';
  while (true) {
    await Bun.sleep(STALL_MS / 2);
    const chunk = await reader.read();
    if (chunk.done) return text;
    text += new TextDecoder('latin1').decode(chunk.value);
  }
}

test('a client that keeps taking, however slowly, gets everything', async () => {
  const logs: string[] = [];
  const { file, open } = exportFile();
  const body = await fileStream(file, new AbortController().signal, controlOf(logs));
  expect((await slowly(body.getReader())).length).toBe(queryLimits.exportFileChunkBytes * 3);
  const text = await textStream(
    threePages(),
    { head: '', format: (events) => `${JSON.stringify(events)}\n` },
    new AbortController(),
    controlOf(logs),
  );
  const lines = await slowly(text.getReader());
  expect(lines.trimEnd().split('\n')).toHaveLength(3);
  // Ended: nothing is cut later either.
  await Bun.sleep(STALL_MS * 2);
  expect(open()).toBe(false);
  expect(logs.filter((l) => l.includes('its client took nothing'))).toEqual([]);
  expect(logs.filter((l) => l === 'ended').length).toBeGreaterThanOrEqual(2);
});

test('credentials that cannot be checked keep a stream up to the bound of checks in a row', () => {
  let now = 0;
  const answers: CredentialsCheck[] = [null, null, true, null, null, null, true, false, true];
  const asked: CredentialsCheck[] = [];
  const allowed = credentialsCheck(
    () => {
      const next = answers.length > 0 ? (answers.shift() as CredentialsCheck) : true;
      asked.push(next);
      return next;
    },
    () => now,
    1000,
    3,
  );
  const round = () => {
    now += 1000;
    return allowed();
  };
  expect(allowed()).toBe(true); // within the interval: not asked
  // Two failed checks, a good one (the count starts over), then three failed in a row: cut.
  expect([round(), round(), round(), round(), round(), round()]).toEqual([
    true,
    true,
    true,
    true,
    true,
    false,
  ]);
  expect(round()).toBe(false); // for good: not asked again
  expect(asked).toEqual([null, null, true, null, null, null]);

  const refused = credentialsCheck(
    () => false,
    () => now,
    1000,
    3,
  );
  now += 1000;
  expect(refused()).toBe(false);
});
