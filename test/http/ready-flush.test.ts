// /ready says a node is not ready once its flushes keep failing (an unwritable segments
// directory, say): writes still reach the log, but nothing reaches segments and the hot budget
// fills, after which ingest is refused. The reason names the error's code, never a path.

import { afterEach, expect, test } from 'bun:test';
import { storageLimits } from '../../src/storage/limits.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

test('flushes failing in a row make /ready a 503 naming the code; one success ends it', async () => {
  let failing = false;
  t = await makeTestApp({
    fault: (point) => {
      if (failing && point === 'flush:after-write') {
        throw Object.assign(new Error("EACCES: permission denied, rename '/secret/dir/x'"), {
          code: 'EACCES',
        });
      }
    },
  });
  const app = t;
  expect((await app.post('/api/v1/events', { event_id: 'e1', name: 'x' })).status).toBe(202);
  failing = true;
  for (let i = 1; i <= storageLimits.flushFailuresNotReadyMin; i++) {
    expect((await app.get('/ready')).status).toBe(200);
    await expect(app.engine.store.flusher.flush()).rejects.toThrow('EACCES');
    expect((await app.post('/api/v1/events', { event_id: `f${i}`, name: 'x' })).status).toBe(202);
  }
  const ready = await app.get('/ready');
  expect(ready.status).toBe(503);
  const answer = (await ready.json()) as { code: string; detail: string };
  expect(answer.code).toBe('not_ready');
  expect(answer.detail).toBe(
    `flushing events to segments failed ${storageLimits.flushFailuresNotReadyMin} times in a row ` +
      '(last: EACCES); events are kept in the write-ahead log, see the server log',
  );
  expect(answer.detail).not.toContain('/secret');
  failing = false;
  await app.engine.store.flusher.flush();
  expect((await app.get('/ready')).status).toBe(200);
  expect(await app.count()).toBe(1 + storageLimits.flushFailuresNotReadyMin);
});

test('releases of flushed log files failing in a row make /ready a 503 saying so', async () => {
  let failing = false;
  t = await makeTestApp({
    fault: (point) => {
      if (failing && point === 'flush:before-release') {
        throw Object.assign(new Error("EACCES: permission denied, unlink '/secret/wal/1'"), {
          code: 'EACCES',
        });
      }
    },
  });
  const app = t;
  failing = true;
  for (let i = 1; i <= storageLimits.flushFailuresNotReadyMin; i++) {
    expect((await app.post('/api/v1/events', { event_id: `r${i}`, name: 'x' })).status).toBe(202);
    await expect(app.engine.store.flusher.flush()).rejects.toThrow('EACCES');
  }
  const ready = await app.get('/ready');
  expect(ready.status).toBe(503);
  // The events did reach segments: the reason must not say they are only in the log.
  expect(((await ready.json()) as { detail: string }).detail).toBe(
    `releasing flushed write-ahead log files failed ${storageLimits.flushFailuresNotReadyMin} ` +
      'times in a row (last: EACCES); events reach segments, but the log grows until the disk ' +
      'is full, see the server log',
  );
  failing = false;
  await app.engine.store.flusher.flush();
  expect((await app.get('/ready')).status).toBe(200);
  expect(await app.count()).toBe(storageLimits.flushFailuresNotReadyMin);
});
