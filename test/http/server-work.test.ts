// serverWorkOf and answerServing (http/server-work.ts): the connection's idle timeout is off
// while the server works for a request, and back once the work settles, on every path (Bun
// keeps a request's timeout for the later requests of its connection), once for nested work
// (an export within the answer's work); answerServing does so for a request with no body, and
// leaves alone one with a body (Bun's own) and a WebSocket handshake.

import { expect, test } from 'bun:test';
import { answerServing, noteIdleTimeout, serverWorkOf } from '../../src/http/server-work.ts';

function recording() {
  const calls: number[] = [];
  return { calls, server: { timeout: (_: Request, seconds: number) => calls.push(seconds) } };
}

const request = new Request('http://localhost/api/v1/export');

test('off while the work runs, back to the idle timeout once it is done', async () => {
  const { calls, server } = recording();
  const work = serverWorkOf(server, request);
  const seen: number[][] = [];
  expect(
    await work.run(async () => {
      seen.push([...calls]);
      return 7;
    }),
  ).toBe(7);
  expect(seen).toEqual([[0]]);
  expect(calls).toEqual([0, 30]);
});

test('back also when the work fails, and the failure is the caller’s', async () => {
  const { calls, server } = recording();
  const work = serverWorkOf(server, request);
  const failing = work.run(() => Promise.reject(new Error('copy failed')));
  await expect(failing).rejects.toThrow('copy failed');
  expect(calls).toEqual([0, 30]);
});

test('nested work turns it off and back once, when the outer work ends', async () => {
  const { calls, server } = recording();
  const work = serverWorkOf(server, request);
  await work.run(async () => {
    await work.run(async () => undefined);
    expect(calls).toEqual([0]);
  });
  expect(calls).toEqual([0, 30]);
  await work.run(async () => undefined);
  expect(calls).toEqual([0, 30, 0, 30]);
});

test('without a server (an app answering without a socket) the work just runs', async () => {
  expect(await serverWorkOf(null, request).run(async () => 'done')).toBe('done');
});

test('the work of the whole answer and an export within it nest, per request', async () => {
  const { calls, server } = recording();
  const inner = new Request('http://localhost/api/v1/export');
  const answer = await answerServing(server, inner, async (request) => {
    await serverWorkOf(server, request).run(async () => undefined);
    expect(calls).toEqual([0]); // the export's copy ended; the answer's work goes on
    return new Response('file');
  });
  expect(await answer.text()).toBe('file');
  expect(calls).toEqual([0, 30]);
});

test('the timeout restored is the one the server listens with', async () => {
  const { calls, server } = recording();
  noteIdleTimeout(server, 1);
  await serverWorkOf(server, request).run(async () => undefined);
  expect(calls).toEqual([0, 1]);
});

test('a request with no body: off while it is answered, back before the answer is returned', async () => {
  for (const method of ['GET', 'HEAD', 'DELETE']) {
    const { calls, server } = recording();
    const read = new Request('http://localhost/api/v1/stats', { method });
    const answer = await answerServing(server, read, () => {
      expect(calls).toEqual([0]);
      return new Response(null);
    });
    expect(answer.status).toBe(200);
    expect(calls).toEqual([0, 30]);
  }
});

test('back on also when the handler throws', async () => {
  const { calls, server } = recording();
  const read = new Request('http://localhost/api/v1/stats');
  const failing = answerServing(server, read, async () => {
    throw new Error('read failed');
  });
  await expect(failing).rejects.toThrow('read failed');
  expect(calls).toEqual([0, 30]);
});

test('a request with a body is left to Bun, which turns it off once the body is in', async () => {
  const framings: Record<string, string>[] = [
    { 'content-length': '2' },
    { 'transfer-encoding': 'chunked' },
  ];
  for (const headers of framings) {
    const { calls, server } = recording();
    const query = new Request('http://localhost/api/v1/query', {
      method: 'POST',
      headers,
      body: '{}',
    });
    const answer = await answerServing(server, query, async (request) => {
      await request.arrayBuffer();
      return new Response(null);
    });
    expect(answer.status).toBe(200);
    expect(calls).toEqual([]);
  }
  // An empty body (Content-Length: 0) is no body: Bun would cut its request as a GET's.
  const { calls, server } = recording();
  const empty = new Request('http://localhost/api/v1/x', {
    method: 'POST',
    headers: { 'content-length': '0' },
  });
  await answerServing(server, empty, () => new Response(null));
  expect(calls).toEqual([0, 30]);
});

test('a WebSocket handshake is left alone', async () => {
  const { calls, server } = recording();
  const upgrade = new Request('http://localhost/api/v1/live', {
    headers: { upgrade: 'WebSocket' },
  });
  await answerServing(server, upgrade, () => new Response(null));
  expect(calls).toEqual([]);
});
