import { describe, expect, test } from 'bun:test';
import { AppError } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { withSnapshot } from '../../src/query/read.ts';
import { TenantReadGate } from '../../src/query/tenant-reads.ts';
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

/** How `promise` settled so far: read after a turn, so a read that never settles fails. */
function outcomeOf(promise: Promise<unknown>): { error?: unknown; settled: boolean } {
  const outcome: { error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    () => {
      outcome.settled = true;
    },
    (error: unknown) => {
      outcome.settled = true;
      outcome.error = error;
    },
  );
  return outcome;
}

const CLIENT_GONE = { status: 499, code: 'client_closed' };

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

describe('a read whose client went away', () => {
  const limits = { runningMax: 1, waitingMax: 2 };

  test('leaves the queue at once, never runs, and the next waiting read takes its turn', async () => {
    const gate = new TenantReadGate(limits);
    const first = await gate.enter('t');
    const client = new AbortController();
    let goneRan = false;
    const gone = outcomeOf(
      gate.enter('t', client.signal).then((release) => {
        goneRan = true;
        release();
      }),
    );
    const next = gate.enter('t');
    client.abort();
    await turn();
    expect(gone.error).toMatchObject(CLIENT_GONE);
    // Its place in the queue is free at once: one more waits, and only then is the queue full.
    const last = gate.enter('t');
    await expect(gate.enter('t')).rejects.toMatchObject({ code: 'tenant_overloaded' });
    first();
    (await next)();
    (await last)();
    expect(goneRan).toBe(false);
    // Nothing is counted as running any more: the tenant has its whole share again.
    const again = await gate.enter('t');
    let queued = false;
    const behind = gate.enter('t').then((release) => {
      queued = true;
      return release;
    });
    await turn();
    expect(queued).toBe(false);
    again();
    (await behind)();
  });

  test('is refused before it takes a place when its client is already gone', async () => {
    const gate = new TenantReadGate(limits);
    const client = new AbortController();
    client.abort();
    const gone = outcomeOf(gate.enter('t', client.signal));
    await turn();
    expect(gone.error).toMatchObject(CLIENT_GONE);
    // No place was taken: a read runs at once.
    (await gate.enter('t'))();
  });

  test('handed a place in the turn its client left, it holds the place until it gives it back', async () => {
    const gate = new TenantReadGate(limits);
    const first = await gate.enter('t');
    const client = new AbortController();
    const handed = gate.enter('t', client.signal);
    let nextRan = false;
    const next = gate.enter('t').then((release) => {
      nextRan = true;
      return release;
    });
    first(); // hands the place to `handed`...
    client.abort(); // ...whose client leaves before it runs: withSnapshot gives it back.
    const release = await handed;
    await turn();
    expect(nextRan).toBe(false);
    release();
    (await next)();
    expect(nextRan).toBe(true);
  });

  test('through withSnapshot: a waiting read whose client left takes no snapshot', async () => {
    const { tenantReadsRunningMax: running } = queryLimits;
    let snapshots = 0;
    const counted: EventSource = {
      snapshot: async (tenant, range) => {
        snapshots++;
        return source.snapshot(tenant, range);
      },
    };
    const busy = Array.from({ length: running }, () => read('left', counted));
    await turn();
    const client = new AbortController();
    let ran = false;
    const gone = outcomeOf(
      withSnapshot(counted, 'left', {}, client.signal, async () => {
        ran = true;
      }),
    );
    const next = read('left', counted);
    await turn();
    client.abort();
    await turn();
    expect(gone.error).toMatchObject(CLIENT_GONE);
    busy[0]?.finish();
    await turn();
    expect(next.started).toBe(true);
    await drain([...busy, next]);
    expect(ran).toBe(false);
    expect(snapshots).toBe(running + 1);
  });
});
