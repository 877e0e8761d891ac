// serverWorkOf (http/server-work.ts): the connection's idle timeout is off while the server
// works for a request, and back once the work settles, on every path (Bun keeps a request's
// timeout for the later requests of its connection), once for nested work.

import { expect, test } from 'bun:test';
import { serverWorkOf } from '../../src/http/server-work.ts';

function recording() {
  const calls: number[] = [];
  return { calls, server: { timeout: (_: Request, seconds: number) => calls.push(seconds) } };
}

const request = new Request('http://localhost/api/v1/export');

test('off while the work runs, back to the idle timeout once it is done', async () => {
  const { calls, server } = recording();
  const work = serverWorkOf(server, request, 30);
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
  const work = serverWorkOf(server, request, 30);
  const failing = work.run(() => Promise.reject(new Error('copy failed')));
  await expect(failing).rejects.toThrow('copy failed');
  expect(calls).toEqual([0, 30]);
});

test('nested work turns it off and back once, when the outer work ends', async () => {
  const { calls, server } = recording();
  const work = serverWorkOf(server, request, 30);
  await work.run(async () => {
    await work.run(async () => undefined);
    expect(calls).toEqual([0]);
  });
  expect(calls).toEqual([0, 30]);
  await work.run(async () => undefined);
  expect(calls).toEqual([0, 30, 0, 30]);
});

test('without a server (an app answering without a socket) the work just runs', async () => {
  expect(await serverWorkOf(null, request, 30).run(async () => 'done')).toBe('done');
});
