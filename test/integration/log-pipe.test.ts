// A server whose log's reader went away (stdout a pipe to a log shipper that exited) goes on
// serving: its log lines are dropped, said once on stderr, where each write used to throw EPIPE
// and the next log line (a request's) killed the process.

import { afterAll, afterEach, expect, test } from 'bun:test';
import { killServers, spawnServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temp = makeTempDir();
afterEach(killServers);
afterAll(() => temp.remove());

test('a server whose stdout closed keeps answering, acknowledges, and stops cleanly', async () => {
  const proc = spawnServer({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: temp.dir });
  const reader = proc.stdout.getReader();
  let text = '';
  while (!text.includes('"msg":"ready"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stdout ended before ready: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const url = (/"url":"([^"]+)\/"/.exec(text) as RegExpExecArray)[1];
  await reader.cancel(); // the reader is gone: the pipe's read end closes
  for (let i = 0; i < 5; i++) expect((await fetch(`${url}/health`)).status).toBe(200);
  const sent = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: 'after-the-log', name: 'x' }),
  });
  expect(sent.status).toBe(202);
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  const stderr = await new Response(proc.stderr).text();
  expect(stderr).toContain('tally: stdout failed');
  expect(stderr).toContain('log lines are dropped');
  expect(stderr).not.toContain('    at ');
});
