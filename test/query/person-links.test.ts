// The links of by=person (query/actors.ts) where the order of events leaves a tie: one event
// stored twice (resent past the deduplication window) with other user ids. Which row a scan
// meets first must not pick the person: the smallest user id wins, in any storage order.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getFunnel } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T00:00:00Z');

let source: MemorySource;
beforeAll(async () => {
  source = await createMemorySource();
});
afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const funnel = (tenant: string) =>
  getFunnel(source, tenant, {
    steps: [{ path: '/pricing' }, { name: 'signed_up' }],
    windowMs: 3_600_000,
    by: 'person',
    filters: {},
  });

test('one event stored twice with two user ids links its anonymous id to the smaller', async () => {
  for (const [tenant, order] of [
    ['ab', ['ada', 'bob']],
    ['ba', ['bob', 'ada']],
  ] as const) {
    const link = (user: string): StoredEvent =>
      makeEvent({
        tenant,
        event_id: 'login-1',
        name: 'login',
        timestamp: T + 1000,
        user_id: user,
        anonymous_id: 'shared',
        visitor_id: user,
      });
    await source.add([
      makeEvent({ tenant, path: '/pricing', timestamp: T, anonymous_id: 'shared' }),
      link(order[0]),
    ]);
    // Apart, so that each storage order is its own: flushed first, then hot.
    await source.flush();
    await source.add([
      link(order[1]),
      makeEvent({ tenant, name: 'signed_up', timestamp: T + 2000, user_id: 'ada' }),
    ]);
    // The view is ada's, whose sign-up follows it.
    expect((await funnel(tenant)).steps.map((s) => s.count)).toEqual([1, 1]);
  }
});
