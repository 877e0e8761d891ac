// The segment lifecycle against a model (seeded): two tenants' events (at a UTC midnight, a
// millisecond before one, anywhere in a day, before 1970) ingested between flushes,
// compactions, erasures and retention passes started together so that they race; some steps
// fail at their fault points (as a full disk or an I/O error would make them), and at others
// the data directory is copied as a crash there would leave it. After each round, and in each
// copy once opened: every event is read once, the per-minute counts a count series reads equal
// the rows a stats read counts, every acknowledged event is there unless an erasure or a
// retention pass took it, and none a pass deleted comes back.
// `LIFECYCLE_SEEDS=<seed>[,<seed>…] LIFECYCLE_ROUNDS=<n>` replays a failure, or runs longer.

import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import { DAY_MS, utcDay } from '../../src/core/index.ts';
import { openEngine } from '../../src/engine/index.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { engineOptions, makeTestApp, type TestApp } from '../helpers/app.ts';
import { seededRandom } from '../helpers/random.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let t: TestApp | undefined;
const removals: (() => void)[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const remove of removals.splice(0)) remove();
});

const TENANTS = ['acme', 'globex'];
const USERS = ['u1', 'u2', 'u3'];
const NAMES = ['page_view', 'signup'];
const RETENTION_DAYS = 3;
const MERGING = { compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 };

/** Where a step fails, thrown at (each leaves the store whole, and is retried). */
const FAILING = new Set([
  'flush:after-write',
  'flush:after-rename',
  'compact:after-write',
  'compact:after-rename',
  'compact:after-catalog',
  'retention:after-catalog',
  'retention:after-retire',
  'erase:after-write',
  'erase:after-rename',
]);
const FAIL_RATE = 0.08;
/** Where the data directory may be copied, as a crash there would leave it. */
const COPIED = new Set([
  ...FAILING,
  'flush:after-catalog',
  'flush:before-release',
  'erase:after-catalog',
  'erase:after-retire',
  'erase:before-done',
]);
const COPY_RATE = 0.15;

interface Sent {
  tenant: string;
  id: string;
  timestamp: number;
  user: string;
  /** The erasure accepted after it for its tenant and user, if any. */
  erasure: string | null;
  /** Deleted for good: of a day a pass deleted while no step ran, after a flush took it. */
  deleted: boolean;
}

/** What the store must hold: in the running server, or in a copy taken at a fault point. */
interface Expected {
  acked: readonly Sent[];
  /** Erasures accepted (recorded and cut from the hot tier). */
  erasures: ReadonlySet<string>;
  /** An erasure being accepted: its person's events may be gone or not. */
  accepting: { tenant: string; user: string } | null;
  /** Days before this one may be gone: a retention pass began that deletes them. */
  deletableBefore: string;
}

interface Copy extends Expected {
  dir: string;
  point: string;
}

/** A tenant's event ids, and its counts per minute, name and bot flag from rows and minutes. */
async function readsOf(source: EventSource, tenant: string) {
  const s = await source.snapshot(tenant);
  const rows = async (sql: string) =>
    (await s.connection.runAndReadAll(sql, s.params)).getRowObjectsJS();
  try {
    const ids = (await rows(`SELECT event_id FROM ${s.allFrom} AS e`)).map((r) =>
      String(r.event_id),
    );
    const fromRows = await rows(
      `SELECT CAST(floor(epoch_ms("timestamp") / 60000) AS BIGINT) AS minute, name,
         coalesce(is_bot, false) AS bot, count(*) AS n
       FROM ${s.from} AS e GROUP BY ALL ORDER BY ALL`,
    );
    const fromMinutes = await rows(
      `SELECT minute, name, coalesce(is_bot, false) AS bot, sum(events)::BIGINT AS n
       FROM ${s.minutesFrom} AS c GROUP BY ALL ORDER BY ALL`,
    );
    return { ids, fromRows, fromMinutes };
  } finally {
    s.release();
  }
}

/** Checks every tenant of `source` against `expected`; `failed` tells erasures that failed. */
async function check(
  source: EventSource,
  expected: Expected,
  failed: (erasure: string) => boolean,
  context: string,
): Promise<void> {
  for (const tenant of TENANTS) {
    const where = `${context}, ${tenant}`;
    const { ids, fromRows, fromMinutes } = await readsOf(source, tenant);
    expect({ where, twice: ids.length - new Set(ids).size }).toEqual({ where, twice: 0 });
    expect({ where, counts: fromMinutes }).toEqual({ where, counts: fromRows });
    const read = new Set(ids);
    const { accepting, erasures, deletableBefore } = expected;
    const wrong = expected.acked.filter((e) => {
      if (e.tenant !== tenant) return false;
      if (accepting?.tenant === tenant && accepting.user === e.user) return false;
      if (e.erasure !== null && erasures.has(e.erasure)) {
        // A failed one cut the unflushed events, and may have rewritten some segments.
        return !failed(e.erasure) && read.has(e.id);
      }
      if (e.deleted) return read.has(e.id);
      return !read.has(e.id) && utcDay(e.timestamp) >= deletableBefore;
    });
    expect({ where, wrong }).toEqual({ where, wrong: [] });
  }
}

/** One seeded run: the model, the copies taken so far, and the steps that drive the store. */
class Run {
  private readonly random: () => number;
  private readonly faultRandom: () => number;
  private readonly sent: Sent[] = [];
  private readonly erasures = new Set<string>();
  private accepting: Expected['accepting'] = null;
  private deletableBefore = '0000-00-00';
  private ids = 0;
  readonly copies: Copy[] = [];
  app: TestApp | null = null;

  constructor(readonly seed: number) {
    this.random = seededRandom(seed);
    this.faultRandom = seededRandom(seed * 7919);
  }

  /** The store's fault hook: copies the data directory at some points, fails at some. */
  fault(point: string): void {
    if (this.app === null) return;
    if (COPIED.has(point) && this.faultRandom() < COPY_RATE) {
      const { dir, remove } = makeTempDir('tally-lifecycle-');
      removals.push(remove);
      fs.cpSync(this.app.dataDir, dir, { recursive: true });
      this.copies.push({ dir, point, ...this.expected(), acked: this.sent.map((e) => ({ ...e })) });
    }
    if (FAILING.has(point) && this.faultRandom() < FAIL_RATE) {
      throw new Error(`failed at ${point}`);
    }
  }

  expected(): Expected {
    const { sent: acked, erasures, accepting, deletableBefore } = this;
    return { acked, erasures: new Set(erasures), accepting, deletableBefore };
  }

  /** Six steps, some left running so that they race; then the checks of every tenant. */
  async round(app: TestApp, round: number): Promise<void> {
    const { engine, clock } = app;
    const running: Promise<unknown>[] = [];
    // A failed step rejects at once: caught now, as the steps after it run first.
    const start = (step: Promise<unknown>) => {
      running.push(step.then(() => null).catch((error: unknown) => error));
    };
    for (let i = 0; i < 6; i++) {
      const what = this.random();
      if (what < 0.4) await this.send(app, this.pick(TENANTS));
      else if (what < 0.55) start(engine.store.flusher.flush());
      else if (what < 0.7) start(engine.store.compactor.compact());
      else if (what < 0.8) await this.erase(app, this.pick(TENANTS), this.pick(USERS));
      else if (what < 0.9) {
        // Once it began, a pass may delete these days, even if it fails after.
        const kept = utcDay(clock.now() - RETENTION_DAYS * DAY_MS);
        if (kept > this.deletableBefore) this.deletableBefore = kept;
        start(app.retention.run());
      } else clock.advance(Math.floor(this.random() * 12) * 3_600_000);
    }
    for (const error of await Promise.all(running)) {
      if (error !== null && !String(error).includes('failed at')) throw error;
    }
    await engine.erasures.settled();
    if (this.random() < 0.2) await this.deleteDays(app);
    if (this.random() < 0.1) await app.restart();
    const where = `seed ${this.seed}, round ${round}`;
    await check(app.engine.store, this.expected(), failedIn(app.engine), where);
  }

  /** Opens each copy as the start after a crash would, and checks it. */
  async checkCopies(clock: TestApp['clock']): Promise<void> {
    for (const [i, copy] of this.copies.entries()) {
      const engine = await openEngine(engineOptions(copy.dir, clock, MERGING));
      try {
        await engine.erasures.settled(); // those pending at the copy go on
        const where = `seed ${this.seed}, copy ${i} taken at ${copy.point}`;
        await check(engine.store, copy, failedIn(engine), where);
      } finally {
        await engine.close();
      }
    }
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  private async send(app: TestApp, tenant: string): Promise<void> {
    const today = Math.floor(app.clock.now() / DAY_MS) * DAY_MS;
    const events = Array.from({ length: 1 + Math.floor(this.random() * 5) }, (): Sent => {
      const day = today - Math.floor(this.random() * 6) * DAY_MS;
      const timestamp = this.pick([day, day - 1, day + Math.floor(this.random() * DAY_MS), -1]);
      return {
        tenant,
        id: `e${this.ids++}`,
        timestamp,
        user: this.pick(USERS),
        erasure: null,
        deleted: false,
      };
    });
    const res = await app.post('/api/v1/events/batch', {
      events: events.map((e) => ({
        event_id: e.id,
        name: this.pick(NAMES),
        tenant_id: tenant,
        user_id: e.user,
        timestamp: e.timestamp,
      })),
    });
    expect(res.status).toBe(202);
    this.sent.push(...events);
  }

  /**
   * A flush, then a retention pass, while nothing else runs: when both succeed, the events of
   * the days it deleted are gone for good (no late one among them: the flush took them all).
   */
  private async deleteDays(app: TestApp): Promise<void> {
    const kept = utcDay(app.clock.now() - RETENTION_DAYS * DAY_MS);
    if (kept > this.deletableBefore) this.deletableBefore = kept;
    const done = (step: Promise<unknown>) => step.then(() => true).catch(() => false);
    if (!(await done(app.engine.store.flusher.flush()))) return;
    if (!(await done(app.retention.run()))) return;
    for (const e of this.sent) if (utcDay(e.timestamp) < kept) e.deleted = true;
  }

  private async erase(app: TestApp, tenant: string, user: string): Promise<void> {
    this.accepting = { tenant, user };
    const erasure = await app.engine.erasures.request(tenant, 'user_id', user);
    for (const e of this.sent) {
      if (e.tenant === tenant && e.user === user) e.erasure ??= erasure.id;
    }
    this.erasures.add(erasure.id);
    this.accepting = null;
  }
}

const failedIn = (engine: TestApp['engine']) => (id: string) =>
  engine.store.erasureLog.get(id)?.status === 'failed';

async function run(seed: number, rounds: number): Promise<void> {
  const model = new Run(seed);
  const fault = (point: string) => model.fault(point);
  t = await makeTestApp({ ...MERGING, fault }, { retentionDays: RETENTION_DAYS });
  model.app = t;
  for (let round = 0; round < rounds; round++) await model.round(t, round);
  await model.checkCopies(t.clock);
  expect(model.copies.length).toBeGreaterThan(0);
}

const { LIFECYCLE_SEEDS: seeds, LIFECYCLE_ROUNDS: rounds } = process.env;
for (const seed of (seeds ?? '1').split(',').map(Number)) {
  const n = Number(rounds ?? 15);
  const name = `seed ${seed}: each event read once, alike by minute counts and by rows`;
  test(name, () => run(seed, n), { timeout: 60_000 + n * 5_000 });
}
