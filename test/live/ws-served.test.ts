// The live socket with the app served as main.ts serves it (listenEarly): the handshake, a GET,
// is left out of the idle-timeout handling of reads (http/server-work.ts, answerServing), and
// the socket it opens keeps its messages coming while Bun closes idle HTTP connections.

import { afterEach, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { isSnapshot, LiveClient, type LiveServer, startLiveServer } from './support.ts';

let server: LiveServer | null = null;
let client: LiveClient | null = null;

afterEach(async () => {
  client?.close();
  client = null;
  await server?.close();
  server = null;
});

/** A keep-alive HTTP connection that asks `/health` once, then idles: when Bun closes it. */
function idleClosed(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
    });
    socket.on('close', () => resolve(text));
  });
}

test('a live socket through a 1 s HTTP idle timeout gets its messages on, past it', async () => {
  server = await startLiveServer({ idleTimeoutS: 1 });
  client = await LiveClient.connect(`${server.wsUrl}/api/v1/live`);
  client.send({ type: 'subscribe' });
  const first = await client.next(isSnapshot, 1000);
  expect(first.message.windows['1m'].events).toBe(0);
  // Bun's idle sweep has run past the handshake: an HTTP connection opened after it is closed.
  expect(await idleClosed(server.port)).toStartWith('HTTP/1.1 200');
  expect(client.ws.readyState).toBe(WebSocket.OPEN);
  expect((await server.post('/api/v1/events', { name: 'signup' })).status).toBe(202);
  const seen = await client.next(
    (m): m is typeof first.message => isSnapshot(m) && m.windows['1m'].events === 1,
    2000,
    first.index + 1,
  );
  expect(seen.message.windows['1h'].names).toEqual([{ name: 'signup', events: 1 }]);
});
