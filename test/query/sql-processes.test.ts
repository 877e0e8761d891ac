// The processes SQL statements run in: statements that spill to disk side by side each keep
// their own spill files, a process that cannot start refuses the statement as busy without
// keeping its slot, and one tenant holds only its share of the places.

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { queryLimits } from '../../src/query/limits.ts';
import type { SqlJob } from '../../src/query/sql-job.ts';
import {
  SqlProcesses,
  type SqlProcessLimits,
  watchStatement,
} from '../../src/query/sql-processes.ts';
import { EVENT_COLUMNS, SEGMENT_FORMAT } from '../../src/storage/index.ts';
import { sqlChildren as sqlChildrenOf } from '../helpers/sql-children.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const { dir, remove } = makeTempDir('tally-sql-processes-');
afterAll(remove);

/** Every SqlProcesses a test makes, closed after it: none leaves its spare process running. */
const made: SqlProcesses[] = [];
afterEach(() => {
  for (const processes of made.splice(0)) processes.close();
});
/**
 * An argument sql-child.ts ignores that marks this file's SQL children: files that run beside
 * this one in this process (bun test --parallel) start SQL children of this process too.
 */
const MARKER = `sql-processes-test-${process.pid}`;
const CHILD = [process.execPath, path.resolve(import.meta.dir, '../../src/query/sql-child.ts')];
const sqlChildren = () => sqlChildrenOf(MARKER);

function processesOf(limits: SqlProcessLimits, command?: readonly string[]): SqlProcesses {
  const processes = new SqlProcesses(limits, command ?? [...CHILD, MARKER]);
  made.push(processes);
  return processes;
}

/** 3M events holding value = 0 … 2,999,999, the rows the jobs below read through `events`. */
const dataDir = path.join(dir, 'data');
const eventsFile = path.join(dataDir, 'events.parquet');
beforeAll(async () => {
  fs.mkdirSync(dataDir);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  // Every column of a stored event (the process reads them by name), null but these three.
  const columns = EVENT_COLUMNS.map(([name, type]) => {
    if (name === 'value') return 'range::DOUBLE AS "value"';
    if (name === 'seq') return 'range AS seq';
    return name === 'properties' ? "'{}'::JSON AS properties" : `NULL::${type} AS "${name}"`;
  });
  await c.run(
    `COPY (SELECT ${columns.join(', ')} FROM range(3000000)) TO '${eventsFile}' (FORMAT parquet)`,
  );
  c.closeSync();
});

/** The nice values of a process's threads that DuckDB or its statement started (Linux /proc). */
function threadNices(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [Number(fields[16])];
    });
  } catch {
    return []; // gone meanwhile
  }
}

/** A job that sorts the 3M rows in random order in a 32 MiB DuckDB: it must spill. */
function spillingJob(name: string): SqlJob {
  const own = path.join(dir, name);
  fs.mkdirSync(own);
  return {
    statement: `SELECT count(*) AS n, sum(value) AS total FROM (
                  SELECT value FROM events ORDER BY hash(value) LIMIT 2999999)`,
    params: [],
    files: [{ path: eventsFile, format: SEGMENT_FORMAT }],
    rowsMax: 10,
    dirs: [own, dataDir],
    tempDirectory: path.join(own, 'spill'),
    memoryLimitBytes: 32 * 1024 * 1024,
    spillBytesMax: 1024 ** 3,
    resultCharsMax: 1024 ** 2,
    messageCharsMax: 1_000,
    valueDepthMax: 1_000,
    threads: 1,
  };
}

describe('SqlProcesses', () => {
  test('statements that spill run side by side, each with its own spill files', async () => {
    const processes = processesOf({ processesMax: 4, tenantProcessesMax: 2 });
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 4 * 1024 ** 3 };
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((name) => processes.run(name, spillingJob(name), limits)),
    );
    // The rows kept are every one but the one hashing last: count and sum show any mix-up.
    const kept = 2_999_999;
    const all = (3_000_000 * 2_999_999) / 2;
    const dropped = all - Number((answers[0] as { rows: unknown[][] }).rows[0]?.[1]);
    expect(dropped).toBeGreaterThanOrEqual(0);
    expect(dropped).toBeLessThan(3_000_000);
    for (const answer of answers) {
      expect(answer).toMatchObject({ ok: true, rows: [[kept, all - dropped]] });
    }
    // Each spilled under its own directory.
    for (const name of ['a', 'b', 'c']) {
      expect(fs.existsSync(path.join(dir, name, 'spill'))).toBe(true);
    }
  });

  test("a statement's process, not the server, is the OOM killer's first choice", async () => {
    // A statement allocating faster than its memory is checked could have the server killed.
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const before = new Set(sqlChildren());
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 4 * 1024 ** 3 };
    const running = processes.run('acme', spillingJob('oom'), limits);
    const scores = new Map<number, string>();
    while (Bun.peek.status(running) === 'pending') {
      for (const pid of sqlChildren().filter((p) => !before.has(p))) {
        try {
          scores.set(pid, fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim());
        } catch {
          // Gone meanwhile.
        }
      }
      await Bun.sleep(20);
    }
    expect(await running).toMatchObject({ ok: true });
    expect(scores.size).toBeGreaterThan(0);
    expect([...new Set(scores.values())]).toEqual(['1000']);
    expect(fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim()).not.toBe('1000');
  });

  test('a statement runs at a lower CPU priority than the server, its DuckDB threads too', async () => {
    // At the server's priority, 4 statements of 2 threads each on 2 cores took the CPU from the
    // server as its equals: every tenant's reads waited on them (stats 4.5× slower).
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const before = new Set(sqlChildren());
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 4 * 1024 ** 3 };
    const running = processes.run('acme', spillingJob('niced'), limits);
    const server = os.getPriority();
    const expected = Math.min(19, server + queryLimits.sqlProcessNice);
    // The threads of the statement's process and of the spare started beside it, by process;
    // its DuckDB's threads start once its job arrives, so they are looked at while it runs.
    const nices = new Map<number, Set<number>>();
    const threads = new Map<number, number>();
    while (Bun.peek.status(running) === 'pending') {
      for (const pid of sqlChildren().filter((p) => !before.has(p))) {
        const now = threadNices(pid);
        for (const nice of now) nices.set(pid, (nices.get(pid) ?? new Set()).add(nice));
        threads.set(pid, Math.max(threads.get(pid) ?? 0, now.length));
      }
      await Bun.sleep(20);
    }
    expect(await running).toMatchObject({ ok: true });
    // The statement's process is gone (killed as it answered: its exit may take a moment, once
    // seen in CI); the spare waits for work.
    const fresh = () => sqlChildren().filter((p) => !before.has(p));
    const deadline = performance.now() + 5000;
    while (fresh().length > 1 && performance.now() < deadline) await Bun.sleep(20);
    const [spare, ...others] = fresh();
    expect(others).toEqual([]);
    const statement = [...nices.keys()].filter((pid) => pid !== spare);
    expect(statement.length).toBe(1);
    const ran = nices.get(statement[0] as number) ?? new Set();
    expect(threads.get(statement[0] as number)).toBeGreaterThan(1);
    expect(ran.has(expected)).toBe(true);
    // Booting is the server's work: the spare, set up for no statement yet, is not lowered.
    expect(spare !== undefined && threadNices(spare).every((nice) => nice === server)).toBe(true);
  });

  test('a statement is lowered once its process is set up: booting runs at the server priority', async () => {
    // Niced from its spawn, a process took over 10 s to boot on a host whose two cores were
    // busy: every statement was a 503 (not ready within its start limit).
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const before = new Set(sqlChildren());
    const server = os.getPriority();
    const expected = Math.min(19, server + queryLimits.sqlProcessNice);
    const seen = new Map<number, number[][]>(); // per process, each look at its threads' nices
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 4 * 1024 ** 3 };
    const running = processes.run('acme', spillingJob('booted'), limits);
    while (Bun.peek.status(running) === 'pending') {
      for (const pid of sqlChildren().filter((p) => !before.has(p))) {
        seen.set(pid, [...(seen.get(pid) ?? []), threadNices(pid)]);
      }
      await Bun.sleep(5);
    }
    expect(await running).toMatchObject({ ok: true });
    const [spare] = sqlChildren().filter((p) => !before.has(p));
    const looks = [...seen].find(([pid]) => pid !== spare)?.[1] ?? [];
    // Seen first at the server's priority, every thread; later every thread lowered.
    expect(looks.length).toBeGreaterThan(1);
    expect((looks[0] ?? []).every((nice) => nice === server)).toBe(true);
    const last = looks.findLast((nices) => nices.length > 0) ?? [];
    expect(last.length > 1 && last.every((nice) => nice === expected)).toBe(true);
  });

  test('a statement may spill only so much: past it, a DuckDB error', async () => {
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const job = { ...spillingJob('capped'), spillBytesMax: 1024 * 1024 };
    const outcome = await processes.run('acme', job, {
      timeoutMs: 60_000,
      startMsMax: 10_000,
      rssBytesMax: 4 * 1024 ** 3,
    });
    expect(outcome).toMatchObject({ ok: false });
    expect((outcome as { message: string }).message).toContain('max_temp_directory_size');
  });

  test('the process checks the statement itself: what the guard refuses never runs there', async () => {
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    const run = (statement: string, params: SqlJob['params'] = []) =>
      processes.run(
        'acme',
        { ...spillingJob(`guard-${made.length}-${statement.length}`), statement, params },
        limits,
      );
    expect(await run("SELECT * FROM read_csv('/etc/passwd')")).toEqual({
      ok: false,
      refused: 'table functions are not allowed (read_csv); query the events relation',
    });
    expect(await run('SELECT count(*) FROM events WHERE value > ?')).toEqual({
      ok: false,
      refused: 'the statement has 1 parameter(s) but 0 value(s) were given',
    });
    expect(await run('SELECT count(*) AS n FROM events WHERE value < ?', [10])).toMatchObject({
      ok: true,
      rows: [[10]],
    });
  });

  test('a process that cannot start refuses the statement as busy and frees its slot', async () => {
    const processes = processesOf({ processesMax: 2, tenantProcessesMax: 1 }, ['/nonexistent/bun']);
    const limits = { timeoutMs: 5_000, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    for (let i = 0; i < 5; i++) {
      const outcome = await processes.run('acme', spillingJob(`x${i}`), limits);
      expect(outcome).toEqual({
        ok: false,
        stopped: 'busy',
        detail: 'a process for the statement could not start',
      });
    }
  });

  test('a spare whose IPC channel closed before its exit is seen: a new process takes the job', async () => {
    // A spare killed (OOM killer, operator) has its channel closed before its exit is handled;
    // sending it the job threw ERR_IPC_CHANNEL_CLOSED out of run, a 500. Here the process
    // started while `marker` exists claims it and closes its channel, staying alive.
    const child = path.join(import.meta.dir, '../../src/query/sql-child.ts');
    const marker = path.join(dir, 'close-channel');
    const wrapper = path.join(dir, 'closing-spare.ts');
    fs.writeFileSync(
      wrapper,
      `import * as fs from 'node:fs';
import * as os from 'node:os';
       const [marker, child] = process.argv.slice(2);
       let claimed = true;
       try { fs.renameSync(marker, marker + '.taken'); } catch { claimed = false; }
       if (claimed) { process.disconnect(); setInterval(() => {}, 1000); }
       else await import(child);`,
    );
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 }, [
      process.execPath,
      wrapper,
      marker,
      child,
    ]);
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    const run = (n: number) =>
      processes.run(
        'acme',
        { ...spillingJob(`closed-${n}`), statement: `SELECT ${n} AS n` },
        limits,
      );
    expect(await run(1)).toMatchObject({ ok: true, rows: [[1]] }); // starts a spare
    fs.writeFileSync(marker, '');
    expect(await run(2)).toMatchObject({ ok: true, rows: [[2]] }); // its new spare closes
    const deadline = performance.now() + 10_000;
    while (!fs.existsSync(`${marker}.taken`) && performance.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(300); // the channel's close reaches this process
    expect(await run(3)).toMatchObject({ ok: true, rows: [[3]] });
  });

  test('the time limit counts from the statement, not from the boot of its process', async () => {
    const child = path.join(import.meta.dir, '../../src/query/sql-child.ts');
    // Each process takes 600 ms to boot before it is the child: twice the time limit.
    const slowBoot = ['sh', '-c', 'sleep 0.6; exec "$0" "$1"', process.execPath, child];
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 }, slowBoot);
    const job = { ...spillingJob('quick'), statement: 'SELECT 42 AS answer' };
    const limits = { timeoutMs: 300, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    expect(await processes.run('acme', job, limits)).toMatchObject({ ok: true, rows: [[42]] });
  });

  test('a process not ready within its start limit refuses the statement as busy', async () => {
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 }, ['sleep', '3']);
    const limits = { timeoutMs: 60_000, startMsMax: 200, rssBytesMax: 1024 ** 3 };
    expect(await processes.run('acme', spillingJob('never'), limits)).toEqual({
      ok: false,
      stopped: 'busy',
      detail: "the statement's process was not ready within 200 ms",
    });
  });

  test('close kills the spare process: an owner that closes leaves no process behind', async () => {
    const before = new Set(sqlChildren());
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const job = { ...spillingJob('spare'), statement: 'SELECT 1 AS one' };
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    expect(await processes.run('acme', job, limits)).toMatchObject({ ok: true, rows: [[1]] });
    const own = () => sqlChildren().filter((pid) => !before.has(pid));
    const settled = async (count: number) => {
      const deadline = performance.now() + 10_000;
      while (own().length > count && performance.now() < deadline) await Bun.sleep(20);
      return own();
    };
    expect(await settled(1)).toHaveLength(1); // the spare, started for the next statement
    processes.close();
    expect(await settled(0)).toEqual([]);
  });

  test('column names and types count toward the characters an answer may hold', async () => {
    // Names are not rows: uncut, `SELECT *, *, … FROM t` over a column named with 40,000
    // characters answered 12M characters of names past the bound of the rows (1 MiB here).
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 1024 ** 3 };
    const run = (name: string, statement: string) =>
      processes.run('acme', { ...spillingJob(name), statement }, limits);
    const long = 'x'.repeat(20_000);
    const stars = Array.from({ length: 60 }, () => '*').join(', ');
    const wide = await run('wide', `WITH t AS (SELECT 1 AS "${long}") SELECT ${stars} FROM t`);
    expect(wide).toEqual({
      ok: false,
      refused: expect.stringMatching(/^the result's column names and types take \d+ characters/),
    });
    // 600,000 characters of name leave room for one row of 300,000 of the three.
    const rows = await run(
      'rows',
      `SELECT repeat('y', 300000) AS "${'x'.repeat(600_000)}" FROM events LIMIT 3`,
    );
    expect(rows).toMatchObject({ ok: true, cut: true });
    expect((rows as { rows: unknown[] }).rows).toHaveLength(1);
  });

  test('rows past a full answer are never read: large rows are cut, not a memory refusal', async () => {
    // 10,001 rows of 5,000 numbers each were read whole and converted (some 1.5 GB here)
    // before all but the first few dozen were cut for the answer's characters: a plain
    // SELECT over a tenant's large events was stopped at the memory limit instead.
    const processes = processesOf({ processesMax: 1, tenantProcessesMax: 1 });
    const limits = { timeoutMs: 60_000, startMsMax: 10_000, rssBytesMax: 512 * 1024 ** 2 };
    const job = {
      ...spillingJob('large-rows'),
      statement: 'SELECT range(5000) AS l FROM events',
      rowsMax: 10_000,
      memoryLimitBytes: 256 * 1024 ** 2,
    };
    const outcome = await processes.run('acme', job, limits);
    expect(outcome).toMatchObject({ ok: true, cut: true });
    const rows = (outcome as { rows: number[][][] }).rows;
    // Each row is ~24,000 characters: about 43 fit in the answer's 1 MiB.
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.length).toBeLessThan(50);
    expect(rows[0]?.[0]?.slice(0, 3)).toEqual([0, 1, 2]);
  });

  test('a tenant at its share is tenant_busy; with every place taken, others are busy', () => {
    const processes = processesOf({ processesMax: 3, tenantProcessesMax: 2 });
    const take = (tenant: string) => processes.reserve(tenant);
    const acme = [take('acme'), take('acme')];
    expect(acme.map((r) => r.kind)).toEqual(['ok', 'ok']);
    expect(take('acme')).toEqual({
      kind: 'tenant_busy',
      detail: '2 SQL statements of the tenant are running (limit 2)',
    });
    const globex = take('globex');
    expect(globex.kind).toBe('ok');
    // Every place is taken: another tenant is refused as busy, acme still as tenant_busy.
    expect(take('initech')).toEqual({
      kind: 'busy',
      detail: '3 SQL statements are running (limit 3)',
    });
    expect(take('acme').kind).toBe('tenant_busy');
    // A place given back (twice: the second is a no-op) is free for anyone, acme included.
    for (const reservation of [acme[0], acme[0]]) {
      if (reservation?.kind === 'ok') reservation.slot.release();
    }
    const again = take('acme');
    expect(again.kind).toBe('ok');
    expect(take('initech').kind).toBe('busy');
    for (const reservation of [again, acme[1], globex]) {
      if (reservation?.kind === 'ok') reservation.slot.release();
    }
    expect([take('initech'), take('initech'), take('initech')].map((r) => r.kind)).toEqual([
      'ok',
      'ok',
      'tenant_busy',
    ]);
  });
});

describe('watchStatement', () => {
  test('a start told after the start limit refused the statement arms no time limit', async () => {
    let tellStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      tellStarted = resolve;
    });
    const limits = { timeoutMs: 60_000, startMsMax: 20, rssBytesMax: 1024 ** 4 };
    const watch = watchStatement(process.pid, started, limits);
    expect(await watch.stopped).toEqual({
      ok: false,
      stopped: 'busy',
      detail: "the statement's process was not ready within 20 ms",
    });
    watch.stop(); // as runChild does once the race is over
    // The process's start message, already on its way, arrives now: nothing may be armed.
    const armed: unknown[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const realSetInterval = globalThis.setInterval;
    const record = (delay: unknown) => {
      armed.push(delay);
      return realSetTimeout(() => {}, 0);
    };
    globalThis.setTimeout = ((_: unknown, delay: unknown) => record(delay)) as typeof setTimeout;
    globalThis.setInterval = ((_: unknown, delay: unknown) => record(delay)) as typeof setInterval;
    try {
      tellStarted();
      await Bun.sleep(0);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.setInterval = realSetInterval;
    }
    expect(armed).toEqual([]);
  });
});
