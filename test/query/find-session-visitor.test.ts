// Which visitor a Umami session id names (query/'s findSessionVisitor): itself when events have
// it as their visitor_id, else the visitor of the newest event with it as anonymous_id (the
// sessionId /api/send answered an item with a distinct `id`), over flushed and hot events,
// identify events too; bots and other tenants never lend theirs.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { UMAMI_IDENTIFY_EVENT_NAME } from '../../src/core/index.ts';
import { findSessionVisitor } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-04-01T12:00:00Z');

let source: MemorySource;
const find = (id: string, tenant = 'acme') => findSessionVisitor(source, tenant, id);
const identified = (userId: string, anonymousId: string, timestamp: number, more = {}) =>
  makeEvent({ user_id: userId, anonymous_id: anonymousId, timestamp, ...more });

beforeEach(async () => {
  source = await createMemorySource();
  await source.add([identified('ada', 's-ada', T)]);
  await source.flush();
  await source.add([
    identified('bob', 's-bob', T, { name: UMAMI_IDENTIFY_EVENT_NAME }),
    identified('eve', 's-eve', T, { tenant: 'other' }),
    identified('bot', 's-bot', T, { is_bot: true }),
  ]);
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

test('an anonymous id names the visitor of its events, flushed or hot, identify too', async () => {
  expect(await find('s-ada')).toBe('ada');
  expect(await find('s-bob')).toBe('bob');
  expect(await find('ada')).toBe('ada');
  expect(await find('nobody')).toBeNull();
});

test("another tenant's events and bots name no visitor", async () => {
  expect(await find('s-eve')).toBeNull();
  expect(await find('s-eve', 'other')).toBe('eve');
  expect(await find('s-bot')).toBeNull();
});

test('a visitor_id names itself first, else the newest event names the visitor', async () => {
  // 's-ada' is also the visitor_id of an event without ids: that visitor is the session.
  await source.add([makeEvent({ visitor_id: 's-ada', timestamp: T - 60_000 })]);
  expect(await find('s-ada')).toBe('s-ada');
  // One anonymous id of two users (another API's device id): the newest event's.
  await source.add([identified('cy', 's-shared', T), identified('di', 's-shared', T + 1000)]);
  expect(await find('s-shared')).toBe('di');
});

test("with a name, only that name's events name a visitor", async () => {
  const identifies = (id: string) =>
    findSessionVisitor(source, 'acme', id, undefined, UMAMI_IDENTIFY_EVENT_NAME);
  // ada's events are page views: a read of identify data finds no session by her sessionId.
  expect(await identifies('s-ada')).toBeNull();
  expect(await identifies('s-bob')).toBe('bob');
});
