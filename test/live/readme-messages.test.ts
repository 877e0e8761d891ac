// README "Messages from the server": the snapshot, heartbeat and error it shows are what a
// socket receives, field for field (the snapshot's numbers are a sample; its fields, their
// nesting and their kinds are checked), and the error's text is the server's own. The messages
// are read from the README itself, so a field added, renamed or dropped on either side fails.

import { afterEach, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  isError,
  isHeartbeat,
  isSnapshot,
  LiveClient,
  type LiveServer,
  startLiveServer,
} from './support.ts';

const README = readFileSync(path.join(import.meta.dir, '..', '..', 'README.md'), 'utf8');

/** The JSON messages of the block under the heading, elided lists (`[…]`) read as empty. */
function shownMessages(): Record<string, unknown>[] {
  const start = README.indexOf('\n#### Messages from the server\n');
  const block = /```json\n([\s\S]*?)```/.exec(README.slice(start))?.[1] ?? '';
  const messages: Record<string, unknown>[] = [];
  let text = '';
  for (const line of block.replaceAll('[…]', '[]').split('\n')) {
    text += line;
    try {
      messages.push(JSON.parse(text) as Record<string, unknown>);
      text = '';
    } catch {
      // a message over several lines: read on
    }
  }
  expect(text.trim()).toBe('');
  return messages;
}

/**
 * The shape of a value: the kind of each field, objects and the first element of arrays
 * followed down (an empty array is only an array: the README elides some lists).
 */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (value === null) return 'null';
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}

/** The shape of `actual`, with arrays the README elides elided too. */
function shapeLike(actual: unknown, shown: unknown): unknown {
  if (Array.isArray(actual) && Array.isArray(shown) && shown.length === 0) return [];
  if (Array.isArray(actual) && Array.isArray(shown)) return [shapeLike(actual[0], shown[0])];
  if (
    actual !== null &&
    typeof actual === 'object' &&
    shown !== null &&
    typeof shown === 'object'
  ) {
    return Object.fromEntries(
      Object.entries(actual).map(([k, v]) => [
        k,
        shapeLike(v, (shown as Record<string, unknown>)[k]),
      ]),
    );
  }
  return shapeOf(actual);
}

let server: LiveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

test('a socket receives the snapshot, heartbeat and error the README shows', async () => {
  const [snapshot, heartbeat, error] = shownMessages();
  expect([snapshot?.type, heartbeat?.type, error?.type]).toEqual([
    'snapshot',
    'heartbeat',
    'error',
  ]);
  server = await startLiveServer({ limits: { refreshIntervalMs: 300, heartbeatIntervalMs: 600 } });
  const events = [
    { tenant_id: 'acme', name: 'page_view', path: '/pricing', user_id: 'a' },
    { tenant_id: 'acme', name: 'signup', user_id: 'a' },
    { tenant_id: 'acme', name: 'cpu_load', value: 0.42, user_id: 'host' },
  ];
  expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
  const client = await LiveClient.connect(`${server.wsUrl}/api/v1/live?tenant_id=acme`);
  try {
    client.send({ type: 'subscribe' });
    const got = (await client.next(isSnapshot, 2000)).message;
    expect(shapeLike(got, snapshot)).toEqual(shapeOf(snapshot));
    expect(Object.keys(got.windows)).toEqual(Object.keys(snapshot?.windows as object));
    const beat = (await client.next(isHeartbeat, 3000)).message;
    expect(shapeOf(beat)).toEqual(shapeOf(heartbeat));
    client.send({ type: 'subscribe', names: 'x' });
    expect((await client.next(isError, 2000)).message as unknown).toEqual(error);
  } finally {
    client.close();
  }
});
