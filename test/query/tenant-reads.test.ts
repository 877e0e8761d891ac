import { expect, test } from 'bun:test';
import { AppError } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { withSnapshot } from '../../src/query/read.ts';
import type { EventSnapshot, EventSource } from '../../src/storage/index.ts';

/** A source whose snapshots are placeholders: the reads under test never query them. */
const source: EventSource = {
  snapshot: async () => ({ release: () => undefined }) as unknown as EventSnapshot,
};

/** A read of `tenant` that runs until `finish` is called. */
function read(tenant: string, from: EventSource = source) {
  let finish: () => void = () => undefined;
  let started = false;
  let finished = false;
  const done = withSnapshot(from, tenant, {}, undefined, async () => {
    started = true;
    await new Promise<void>((resolve) => {
      finish = resolve;
    });
  });
  return {
    done,
    get started() {
      return started;
    },
    get finished() {
      return finished;
    },
    finish: () => {
      finished = true;
      finish();
    },
  };
}

/** Finishes every read as it starts (a waiting one starts when a place is free). */
async function drain(reads: ReturnType<typeof read>[]): Promise<void> {
  while (reads.some((r) => !r.finished)) {
    for (const r of reads) if (r.started && !r.finished) r.finish();
    await turn();
  }
  await Promise.all(reads.map((r) => r.done));
}

const turn = () => Bun.sleep(5);

test("one tenant's reads past its share wait, then are refused; another tenant's run at once", async () => {
  const { tenantReadsRunningMax: running, tenantReadsWaitingMax: waiting } = queryLimits;
  const burst = Array.from({ length: running + waiting }, () => read('big'));
  await turn();
  expect(burst.filter((r) => r.started)).toHaveLength(running);
  // Past the queue: 429 at once, nothing run.
  const refused = await withSnapshot(source, 'big', {}, undefined, async () => 'ran').catch(
    (e) => e,
  );
  expect(refused).toBeInstanceOf(AppError);
  expect((refused as AppError).status).toBe(429);
  expect((refused as AppError).code).toBe('tenant_overloaded');
  // Another tenant is not behind the burst.
  const small = read('small');
  await turn();
  expect(small.started).toBe(true);
  small.finish();
  await small.done;
  // A finished read hands its place to the next waiting one, in order.
  burst[0]?.finish();
  await turn();
  expect(burst.filter((r) => r.started)).toHaveLength(running + 1);
  expect(burst[running]?.started).toBe(true);
  await drain(burst);
  // All done, the tenant has its whole share again.
  const again = Array.from({ length: running }, () => read('big'));
  await turn();
  expect(again.every((r) => r.started)).toBe(true);
  await drain(again);
});

test('a read that fails gives its place back', async () => {
  for (let i = 0; i < queryLimits.tenantReadsRunningMax + 1; i++) {
    const failed = withSnapshot(source, 'flaky', {}, undefined, async () => {
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
  }
  const ok = read('flaky');
  await turn();
  expect(ok.started).toBe(true);
  ok.finish();
  await ok.done;
});

test('places are counted per store: a full tenant of one store holds up no other store', async () => {
  const other: EventSource = { snapshot: source.snapshot };
  const { tenantReadsRunningMax: running } = queryLimits;
  const busy = Array.from({ length: running }, () => read('shared'));
  await turn();
  const elsewhere = read('shared', other);
  await turn();
  expect(elsewhere.started).toBe(true);
  await drain([...busy, elsewhere]);
});
