// DELETE /api/v1/projects/{id}: who may, what goes with the project (keys, aliases, members,
// the owner's room), and every read of the tenant afterwards: none of its events, flushed or
// not, also after a restart; another tenant's reads unchanged; the id usable again, empty.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AuthApp,
  adminToken,
  join,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';
import { holdFdatasyncs } from '../helpers/held-fdatasyncs.ts';
import { inlineSharedAnswers } from '../helpers/openapi.ts';

let t: AuthApp;
let ada: Tokens;
let bob: Tokens;
beforeEach(async () => {
  t = await makeAuthApp({ auth: { bounds: { projectsPerUserMax: 2 } } });
  ada = await signUp(t, 'ada@example.com');
  bob = await signUp(t, 'bob@example.com');
});
afterEach(() => t.close());

const del = (id: string, token?: string) =>
  t.call('DELETE', `/api/v1/projects/${id}`, token === undefined ? {} : { token });

const DAY = '?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z';
/** Every read of a tenant: path, and what a tenant without events answers. */
const READS: [string, number][] = [
  [`/api/v1/stats${DAY}`, 200],
  [`/api/v1/timeseries${DAY}&bucket=hour`, 200],
  ['/api/v1/events', 200],
  ['/api/v1/events/e-1', 404],
  ['/api/v1/events/h-1', 404],
  ['/api/v1/metrics', 200],
  ['/api/v1/metrics/m-1', 404],
  [`/api/v1/metrics/aggregate/cpu${DAY}&bucket=hour`, 200],
  ['/api/v1/metrics/latest/cpu', 404],
  [`/api/v1/funnel${DAY}&step=name:page_view&step=name:signup`, 200],
  [`/api/v1/cohorts${DAY}&start=name:page_view&return=any`, 200],
];

/** Every read of the tenant of `readKey` as status and body, and its SQL count. */
async function readAll(readKey: string): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (const [path] of READS) {
    const res = await t.call('GET', path, { token: readKey });
    const body = await res.text();
    // A 404 names the tenant asked: the same answer for another tenant but for its name.
    answers.push([path, res.status, body.replace(/for tenant [^"]+"/, 'for tenant …"')]);
  }
  const sql = await t.call('POST', '/api/v1/query', {
    token: readKey,
    body: { sql: 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events' },
  });
  answers.push(((await json(sql)) as { rows: unknown[][] }).rows);
  return answers;
}

/** Events and a metric point for a project through its write key: `e-*` flushed, `h-*` not. */
async function seed(project: string, owner: Tokens): Promise<{ write: string; read: string }> {
  const write = (await makeKey(t, owner.access_token, project, 'write')).key;
  const read = (await makeKey(t, owner.access_token, project, 'read')).key;
  const send = async (path: string, body: unknown) => {
    const res = await t.call('POST', path, { token: write, body });
    expect(res.status).toBe(202);
  };
  await send('/api/v1/events/batch', {
    events: ['e-1', 'e-2', 'e-3'].map((id) => ({ event_id: id, name: 'page_view', path: '/p' })),
  });
  await send('/api/v1/metrics', { id: 'm-1', name: 'cpu', value: 3 });
  await t.engine.store.flusher.flush();
  await send('/api/v1/events', { event_id: 'h-1', name: 'signup', path: '/h' });
  return { write, read };
}

function segmentDirs(): string[] {
  const root = path.join(t.dataDir, 'segments');
  const files = fs.readdirSync(root, { recursive: true }) as string[];
  return files.filter((f) => f.endsWith('.parquet')).map((f) => f.split(path.sep)[0] as string);
}

describe('who may delete a project', () => {
  test('an owner 204, a viewer 403, a non-member and an unknown id 404, no token 401', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const invitee = { email: 'bob@example.com', token: bob.access_token };
    expect((await join(t, ada.access_token, 'acme', invitee)).status).toBe(200);
    const carol = await signUp(t, 'carol@example.com');
    expect((await del('acme', bob.access_token)).status).toBe(403);
    expect((await del('acme', carol.access_token)).status).toBe(404);
    expect((await del('nope', ada.access_token)).status).toBe(404);
    expect((await del('acme')).status).toBe(401);
    expect((await t.call('GET', '/api/v1/projects/acme', { token: ada.access_token })).status).toBe(
      200,
    );
    const res = await del('acme', ada.access_token);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    for (const who of [ada, bob]) {
      const gone = await t.call('GET', '/api/v1/projects/acme', { token: who.access_token });
      expect(gone.status).toBe(404);
    }
    expect((await del('acme', ada.access_token)).status).toBe(404);
  });

  test('an admin deletes a project they are no member of; 404 for one that does not exist', async () => {
    const admin = await adminToken(t);
    await makeProject(t, ada.access_token, 'acme');
    expect((await del('nope', admin)).status).toBe(404);
    expect((await del('acme', admin)).status).toBe(204);
    const left = await t.call('GET', '/api/v1/projects', { token: ada.access_token });
    expect((await left.json()) as unknown[]).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  test('describes the deletion: 204, and 400, 401, 403, 404, 422 and 503 with their bodies', async () => {
    const spec = inlineSharedAnswers(await json(await t.call('GET', '/openapi/json'))) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const op = spec.paths['/api/v1/projects/{id}']?.delete;
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual([
      '204',
      '400',
      '401',
      '403',
      '404',
      '422',
      '503', // while the store opens
    ]);
    expect(op?.responses['404']).toMatchObject({
      content: { 'application/json': { example: { code: 'not_found' } } },
    });
  });
});

describe('what goes with a project', () => {
  test('keys stop working, aliases and the owner’s room are free, members are gone', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'acme-2');
    const { write, read } = await seed('acme', ada);
    const alias = await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: ada.access_token,
      body: { alias: 'acme.com', kind: 'plausible_domain' },
    });
    expect(alias.status).toBe(201);
    // At PROJECTS_PER_USER_MAX (2): a third is refused until one is deleted.
    const third = { token: ada.access_token, body: { id: 'acme-3', name: 'Acme 3' } };
    expect((await t.call('POST', '/api/v1/projects', third)).status).toBe(409);

    expect((await del('acme', ada.access_token)).status).toBe(204);
    const ingest = await t.call('POST', '/api/v1/events', { token: write, body: { name: 'x' } });
    expect(ingest.status).toBe(401);
    expect((await t.call('GET', '/api/v1/stats', { token: read })).status).toBe(401);
    const beacon = await t.call('POST', '/api/v1/events', {
      body: { name: 'pageview', tenant_id: 'acme.com' },
    });
    expect(beacon.status).toBe(403); // the alias no longer names a project
    expect((await t.call('POST', '/api/v1/projects', third)).status).toBe(201);
    const taken = await t.call('POST', '/api/v1/projects/acme-2/aliases', {
      token: ada.access_token,
      body: { alias: 'acme.com', kind: 'plausible_domain' },
    });
    expect(taken.status).toBe(201);
    const rows = (sql: string) => t.engine.store.sqlite.query(sql).all();
    expect(rows("SELECT * FROM project_members WHERE project_id = 'acme'")).toEqual([]);
    expect(rows("SELECT * FROM api_keys WHERE project_id = 'acme'")).toEqual([]);
  });
});

describe('the events of a deleted project', () => {
  test('no read shows any, flushed or not, also after a restart; the other tenant keeps all', async () => {
    const admin = await adminToken(t);
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, bob.access_token, 'globex');
    await makeProject(t, admin, 'empty');
    const emptyRead = (await makeKey(t, admin, 'empty', 'read')).key;
    await seed('acme', ada);
    const globex = await seed('globex', bob);
    const globexBefore = await readAll(globex.read);
    expect(segmentDirs()).toContain('tenant=acme');

    expect((await del('acme', ada.access_token)).status).toBe(204);
    expect(segmentDirs()).not.toContain('tenant=acme'); // no read held them: removed at once
    const catalog = t.engine.store.sqlite.query("SELECT * FROM segments WHERE tenant = 'acme'");
    expect(catalog.all()).toEqual([]);
    expect(await t.count('acme')).toBe(0);
    expect(await readAll(globex.read)).toEqual(globexBefore);

    // The id is free again, and a new project with it reads exactly as one never used does.
    await makeProject(t, ada.access_token, 'acme');
    const acmeRead = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
    const emptyAnswers = await readAll(emptyRead);
    expect(await readAll(acmeRead)).toEqual(emptyAnswers);

    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await readAll(acmeRead)).toEqual(emptyAnswers);
    expect(await readAll(globex.read)).toEqual(globexBefore);
  });

  test('a project made again with the id starts empty: ids sent before are new', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await seed('acme', ada);
    expect((await del('acme', ada.access_token)).status).toBe(204);
    await makeProject(t, bob.access_token, 'acme');
    const write = (await makeKey(t, bob.access_token, 'acme', 'write')).key;
    const again = async () =>
      json(
        await t.call('POST', '/api/v1/events/batch', {
          token: write,
          body: { events: ['e-1', 'h-1', 'n-1'].map((id) => ({ event_id: id, name: 'x' })) },
        }),
      );
    expect(await again()).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(await again()).toMatchObject({ accepted: 0, duplicates: 3 });
    await t.restart();
    expect(await again()).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(await t.count('acme')).toBe(3);
  });

  test('ingest racing the deletion: whatever was acknowledged is deleted with it', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const send = (i: number) =>
      t.call('POST', '/api/v1/events', { token: write, body: { event_id: `r-${i}`, name: 'x' } });
    const before = Array.from({ length: 20 }, (_, i) => send(i));
    // Once some are with the tenant's actor (their commit, an fsync, is still to come).
    for (let turn = 0; (t.engine.registry.peek('acme')?.inFlight ?? 0) === 0; turn++) {
      if (turn > 10_000) throw new Error('the ingest never reached the actor');
      await new Promise((resolve) => setImmediate(resolve));
    }
    const deletion = del('acme', ada.access_token);
    const during = Array.from({ length: 20 }, (_, i) => send(100 + i));
    const statuses = (await Promise.all([...before, ...during])).map((r) => r.status);
    expect((await deletion).status).toBe(204);
    const after = (await Promise.all([send(200), send(201)])).map((r) => r.status);
    // Handed in before the deletion: acknowledged (202), then deleted with it. While it runs:
    // 503. After it: the key is gone (401). None is acknowledged and kept.
    expect(statuses.filter((s) => ![202, 503, 401].includes(s))).toEqual([]);
    expect(statuses).toContain(202);
    expect(after).toEqual([401, 401]);
    expect(await t.count('acme')).toBe(0);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
  });

  test('an owner signed out while the deletion drains the ingest: 401, nothing deleted', async () => {
    // The deletion waits for the tenant's events in flight (their commit's fdatasync, held
    // here) before it decides; a session ended in that wait must not still delete, as an
    // erasure or a body that arrives late does not.
    await makeProject(t, ada.access_token, 'acme');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const syncs = holdFdatasyncs();
    let deletion: Promise<Response> | null = null;
    let sent: Promise<Response> | null = null;
    try {
      sent = t.call('POST', '/api/v1/events', { token: write, body: { name: 'x' } });
      for (let turn = 0; (t.engine.registry.peek('acme')?.inFlight ?? 0) === 0; turn++) {
        if (turn > 10_000) throw new Error('the ingest never reached the actor');
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (let waited = 0; syncs.held.length === 0; waited += 5) {
        if (waited > 5_000) throw new Error('the commit never reached its fdatasync');
        await Bun.sleep(5);
      }
      // Admitted (the route's first check passed) once it asks the engine, which then waits
      // for the drain. Awaited, not slept for: a late request would meet the ended session at
      // its first check and pass without the re-check being tested.
      const deletions = t.engine.deletions;
      const deleteOf = deletions.delete;
      const asked = new Promise<void>((resolve) => {
        deletions.delete = (...args) => {
          deletions.delete = deleteOf;
          resolve();
          return deleteOf.apply(deletions, args);
        };
      });
      deletion = del('acme', ada.access_token);
      await asked;
      const out = await t.call('POST', '/api/v1/auth/logout', {
        body: { refresh_token: ada.refresh_token },
      });
      expect(out.status).toBe(204);
    } finally {
      for (let i = 0; i < syncs.held.length; i++) syncs.release(i, null);
      syncs.restore();
    }
    expect((await sent).status).toBe(202);
    expect((await deletion).status).toBe(401);
    expect(t.auth.stores.projects.get('acme')).not.toBeNull();
    expect(await t.count('acme')).toBe(1);
  });

  test('a write key checked before its body arrived writes nothing once the project is gone', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    let feed = (_chunk: string | null) => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        feed = (chunk) => {
          if (chunk === null) controller.close();
          else controller.enqueue(new TextEncoder().encode(chunk));
        };
      },
    });
    const slow = t.handle(
      new Request('http://localhost/api/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
        body,
      }),
    );
    feed('{"event_id":"late-1",');
    await new Promise((resolve) => setImmediate(resolve));
    expect((await del('acme', ada.access_token)).status).toBe(204);
    feed('"name":"x"}');
    feed(null);
    // Its key is gone with the project: acknowledged, the event would be kept under the id of
    // a deleted project, and a project made again with the id would not start empty.
    expect((await slow).status).toBe(401);
    expect(await t.count('acme')).toBe(0);
  });
});

describe('a deletion on a full disk', () => {
  test('whose SQLite transaction finds no room is 503 and deletes nothing', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const { write, read } = await seed('acme', ada);
    const before = await readAll(read);
    const catalog = t.engine.store.catalog;
    const deleteTenant = catalog.deleteTenant;
    // What bun:sqlite throws when the database or its log cannot grow.
    catalog.deleteTenant = () => {
      throw Object.assign(new Error('database or disk is full'), {
        name: 'SQLiteError',
        code: 'SQLITE_FULL',
      });
    };
    const refused = await del('acme', ada.access_token);
    catalog.deleteTenant = deleteTenant;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await json(refused)).toEqual({
      detail: "the data directory's disk is full; retry later",
      code: 'overloaded',
    });
    expect(await readAll(read)).toEqual(before);
    // The tenant's ingest is taken again, and the deletion goes through once there is room.
    const ingest = await t.call('POST', '/api/v1/events', { token: write, body: { name: 'x' } });
    expect(ingest.status).toBe(202);
    expect((await del('acme', ada.access_token)).status).toBe(204);
  });
});
