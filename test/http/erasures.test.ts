// POST/GET /api/v1/projects/{id}/erasures: who may (owners and admins; keys never), what the
// body must be, the answers' shapes, the pending bound, the rate per project, and every read of
// the project once an erasure is done (funnels and cohorts among them): it answers as a project
// that never had the person's events, also after a restart, while another project with the
// same person keeps them; an erasure by anonymous_id, which takes the identified events
// carrying it too; and by=person once a user is erased: no link of theirs survives, flushed or
// not.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { erasureLimits } from '../../src/core/index.ts';
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

let t: AuthApp;
let ada: Tokens;
let bob: Tokens;
beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  bob = await signUp(t, 'bob@example.com');
});
afterEach(() => t.close());

/** Resolves when the next erasure reaches the engine (past the route's checks). */
const requestEntered = () =>
  new Promise<void>((resolve) => {
    const erasures = t.engine.erasures;
    const request = erasures.request;
    erasures.request = (...args) => {
      erasures.request = request;
      resolve();
      return request.apply(erasures, args);
    };
  });
const erase = (id: string, body: unknown, token?: string) =>
  t.call('POST', `/api/v1/projects/${id}/erasures`, { token, body });

describe('who may erase', () => {
  test('owner and admin 202; viewer 403; non-member, unknown 404; none or a key 401', async () => {
    await makeProject(t, ada.access_token, 'acme');
    expect(
      (
        await join(t, ada.access_token, 'acme', {
          ...bob,
          email: 'bob@example.com',
          token: bob.access_token,
        })
      ).status,
    ).toBe(200);
    const carol = await signUp(t, 'carol@example.com');
    const admin = await adminToken(t);
    const read = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const body = { user_id: 'u1' };
    expect((await erase('acme', body, bob.access_token)).status).toBe(403);
    expect((await erase('acme', body, carol.access_token)).status).toBe(404);
    expect((await erase('nope', body, ada.access_token)).status).toBe(404);
    expect((await erase('acme', body)).status).toBe(401);
    expect((await erase('acme', body, read)).status).toBe(401);
    expect((await erase('acme', body, write)).status).toBe(401);
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toEqual([]); // refused: none recorded
    expect((await erase('acme', body, ada.access_token)).status).toBe(202);
    expect((await erase('acme', body, admin)).status).toBe(202);
    const list = (token: string) => t.call('GET', '/api/v1/projects/acme/erasures', { token });
    expect((await list(bob.access_token)).status).toBe(403);
    expect((await list(carol.access_token)).status).toBe(404);
    expect((await list(read)).status).toBe(401);
    expect((await list(admin)).status).toBe(200);
  });
});

describe('a caller who loses their standing while the erasure waits', () => {
  test('demoted or signed out during a running flush: 403 or 401, nothing erased', async () => {
    // The acceptance waits for a running flush (the store's pause, held here); an owner
    // demoted, or a session ended, meanwhile must not still erase, as a body that arrives
    // late does not.
    await makeProject(t, ada.access_token, 'acme');
    const joined = await join(
      t,
      ada.access_token,
      'acme',
      { email: 'bob@example.com', token: bob.access_token },
      'owner',
    );
    expect(joined.status).toBe(200);
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const sent = await t.call('POST', '/api/v1/events', {
      token: write,
      body: { name: 'signup', user_id: 'victim' },
    });
    expect(sent.status).toBe(202);
    const endings: [string, () => Promise<unknown>, number][] = [
      [
        'demoted',
        () =>
          t.call('POST', '/api/v1/projects/acme/members', {
            token: ada.access_token,
            body: { email: 'bob@example.com', role: 'viewer' },
          }),
        403,
      ],
      [
        'signed out',
        () => t.call('POST', '/api/v1/auth/logout', { body: { refresh_token: ada.refresh_token } }),
        401,
      ],
    ];
    for (const [label, end, status] of endings) {
      const token = label === 'demoted' ? bob.access_token : ada.access_token;
      let release = () => {};
      const flush = t.engine.store.flusher.whileIdle(
        () => new Promise<void>((resolve) => (release = resolve)),
      );
      // Admitted (the route's first check passed) once it asks the engine; it then waits for
      // the held flush. Awaited, not slept for: a late request would meet the ended access at
      // its first check and pass without the re-check being tested.
      const asked = requestEntered();
      const answer = erase('acme', { user_id: 'victim' }, token);
      await asked;
      await end();
      release();
      await flush;
      expect({ label, status: (await answer).status }).toEqual({ label, status });
    }
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toEqual([]);
  });
});

describe('the body', () => {
  test('exactly one id field, a string of 1–128 characters; else 422 naming it', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['body', 'user_id'], 'missing'],
      [{ user_id: 'a', anonymous_id: 'b' }, ['body', 'anonymous_id'], 'extra_forbidden'],
      [{ user_id: '' }, ['body', 'user_id'], 'string_too_short'],
      [{ visitor_id: 'x'.repeat(129) }, ['body', 'visitor_id'], 'string_too_long'],
      [{ anonymous_id: 7 }, ['body', 'anonymous_id'], 'string_type'],
      [{ user_id: 'a', email: 'a@b.c' }, ['body', 'email'], 'extra_forbidden'],
      [['u1'], ['body'], 'dict_type'],
    ];
    for (const [body, loc, type] of cases) {
      const res = await erase('acme', body, ada.access_token);
      expect(res.status).toBe(422);
      const detail = (await json(res)).detail as { loc: unknown; msg: string; type: string }[];
      expect(detail).toEqual([{ loc, msg: expect.any(String), type }]);
    }
    const broken = await t.call('POST', '/api/v1/projects/acme/erasures', {
      token: ada.access_token,
      text: '{"user_id":',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toEqual([]);
  });
});

describe('the answers', () => {
  test('202 pending, then done with its counts in the list and by id; 404 elsewhere', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'globex');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const events = ['a1', 'a2'].map((id) => ({ event_id: id, name: 'x', user_id: 'u1' }));
    const sent = await t.call('POST', '/api/v1/events/batch', { token: write, body: { events } });
    expect(sent.status).toBe(202);
    await t.engine.store.flusher.flush();
    await t.call('POST', '/api/v1/events', {
      token: write,
      body: { event_id: 'a3', name: 'x', user_id: 'u1' },
    });

    const res = await erase('acme', { user_id: 'u1' }, ada.access_token);
    expect(res.status).toBe(202);
    const accepted = await json(res);
    expect(accepted).toEqual({
      id: expect.stringMatching(/^er_[0-9a-f]{32}$/),
      project_id: 'acme',
      field: 'user_id',
      value: 'u1',
      status: 'pending',
      reason: null,
      events_erased: 1,
      unflushed_events_erased: 1,
      segments_rewritten: 0,
      created_at: '2026-11-25T12:00:00.000Z',
      finished_at: null,
    });
    await t.engine.erasures.settled();
    const one = await t.call('GET', `/api/v1/projects/acme/erasures/${accepted.id}`, {
      token: ada.access_token,
    });
    expect(one.status).toBe(200);
    const done = { ...accepted, status: 'done', events_erased: 3, segments_rewritten: 1 };
    expect(await json(one)).toEqual({ ...done, finished_at: '2026-11-25T12:00:00.000Z' });
    const list = await t.call('GET', '/api/v1/projects/acme/erasures', { token: ada.access_token });
    expect(await list.json()).toEqual([
      await json(
        await t.call('GET', `/api/v1/projects/acme/erasures/${accepted.id}`, {
          token: ada.access_token,
        }),
      ),
    ]);
    const elsewhere = await t.call('GET', `/api/v1/projects/globex/erasures/${accepted.id}`, {
      token: ada.access_token,
    });
    expect(elsewhere.status).toBe(404);
    expect(await json(elsewhere)).toMatchObject({ code: 'not_found' });
  });

  test('the list is newest first, also for erasures of one millisecond', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await erase('acme', { user_id: `u${i}` }, ada.access_token);
      ids.push((await json(res)).id as string);
    }
    await t.engine.erasures.settled();
    const list = await t.call('GET', '/api/v1/projects/acme/erasures', { token: ada.access_token });
    const listed = ((await list.json()) as { id: string }[]).map((e) => e.id);
    expect(listed).toEqual(ids.reverse());
  });

  test('the list shows the newest erasuresListedMax of a project', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const listedMax = erasureLimits.erasuresListedMax;
    // Recorded straight in the log, as finished ones pile up: no pending bound in the way.
    for (let i = 0; i <= listedMax; i++) {
      const match = { tenant: 'acme', field: 'user_id' as const, value: `u${i}`, throughSeq: 0 };
      t.engine.store.erasureLog.create(`er_${i}`, match, listedMax + 1);
      t.engine.store.erasureLog.finish(`er_${i}`, 'done');
    }
    const list = await t.call('GET', '/api/v1/projects/acme/erasures', { token: ada.access_token });
    const listed = ((await list.json()) as { id: string }[]).map((e) => e.id);
    expect(listed).toHaveLength(listedMax);
    expect(listed[0]).toBe(`er_${listedMax}`);
    expect(listed).not.toContain('er_0');
  });

  test('erasing in a loop does not grow the store: done ones past the listed are deleted', async () => {
    // Any signed-in user owns a project; an erasure of nobody is done in a moment, so a loop
    // of them recorded hundreds of rows a second, kept forever. The route's rate now slows
    // such a loop; the engine's acceptance (which the route calls) is looped here, faster.
    await makeProject(t, ada.access_token, 'acme');
    const listedMax = erasureLimits.erasuresListedMax;
    const rowsOf = () =>
      (
        t.engine.store.sqlite
          .query("SELECT count(*) AS n FROM erasures WHERE tenant = 'acme'")
          .get() as { n: number }
      ).n;
    const eraseAll = async (count: number, prefix: string) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const erasure = await t.engine.erasures.request('acme', 'user_id', `${prefix}-${i}`);
        ids.push(erasure.id);
        await t.engine.erasures.settled();
      }
      return ids;
    };
    const first = await eraseAll(listedMax + 50, 'a');
    expect(rowsOf()).toBe(listedMax);
    const byId = (id: string) =>
      t.call('GET', `/api/v1/projects/acme/erasures/${id}`, { token: ada.access_token });
    expect((await byId(first[0] as string)).status).toBe(404);
    expect((await json(await byId(first.at(-1) as string))).status).toBe('done');
    // Ones a restart may still need (their cut-off above what is flushed: the log replays the
    // records they cover) are kept until a flush passes: an erasure flushes the log file
    // holding its records before it is done, so an unflushed event keeps none past the listed.
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    await t.call('POST', '/api/v1/events', {
      token: write,
      body: { name: 'signup', user_id: 'x' },
    });
    const { store } = t.engine;
    expect(store.catalog.flushedThroughSeq()).toBeLessThan(store.lastSeq);
    await eraseAll(listedMax + 20, 'b');
    expect(rowsOf()).toBe(listedMax);
    expect(store.catalog.flushedThroughSeq()).toBe(store.lastSeq);
  });

  test('at most erasuresPendingPerProjectMax per project: 409 limit_reached past it', async () => {
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'globex');
    const max = erasureLimits.erasuresPendingPerProjectMax;
    // Pending ones as a stop would leave them: recorded, not run yet.
    for (let i = 0; i < max; i++) {
      const match = { tenant: 'acme', field: 'user_id' as const, value: `u${i}`, throughSeq: 0 };
      t.engine.store.erasureLog.create(`er_${i}`, match, max);
    }
    const res = await erase('acme', { user_id: 'one-more' }, ada.access_token);
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ code: 'limit_reached' });
    expect((await erase('globex', { user_id: 'one-more' }, ada.access_token)).status).toBe(202);
  });
});

describe('the rate of erasures', () => {
  test('erasuresBurstMax at once per project, then one each erasureRefillMs; 429 past it', async () => {
    // Each acceptance pauses every tenant's flushes and takes the store's write lock, and an
    // erasure of nobody is done at once: without a rate a loop of them on one project slowed
    // every other tenant's reads.
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'globex');
    const carol = await signUp(t, 'carol@example.com');
    const admin = await adminToken(t);
    const burst = erasureLimits.erasuresBurstMax;
    const refillMs = erasureLimits.erasureRefillMs;
    // Refusals before the rate spend none of it: a non-member's, a body that breaks its rule.
    for (let i = 0; i <= burst; i++) {
      expect((await erase('acme', { user_id: 'u' }, carol.access_token)).status).toBe(404);
      expect((await erase('acme', { user_id: '' }, ada.access_token)).status).toBe(422);
    }
    for (let i = 0; i < burst; i++) {
      expect((await erase('acme', { user_id: `u${i}` }, ada.access_token)).status).toBe(202);
    }
    const refused = await erase('acme', { user_id: 'one-more' }, ada.access_token);
    expect(refused.status).toBe(429);
    expect(await json(refused)).toEqual({
      detail: 'too many erasures asked for in project acme; retry later',
      code: 'rate_limited',
    });
    expect(refused.headers.get('retry-after')).toBe(String(refillMs / 1000));
    expect(refused.headers.get('x-ratelimit-limit')).toBe(String(burst));
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset')).toBe(String((burst * refillMs) / 1000));
    // The bucket is the project's: an admin is refused there too, another project is not.
    expect((await erase('acme', { user_id: 'one-more' }, admin)).status).toBe(429);
    expect((await erase('globex', { user_id: 'u0' }, ada.access_token)).status).toBe(202);
    await t.engine.erasures.settled();
    expect(t.engine.store.erasureLog.listOf('acme', 100)).toHaveLength(burst);

    t.clock.advance(refillMs - 1);
    expect((await erase('acme', { user_id: 'one-more' }, ada.access_token)).status).toBe(429);
    t.clock.advance(1);
    expect((await erase('acme', { user_id: 'one-more' }, ada.access_token)).status).toBe(202);
    expect((await erase('acme', { user_id: 'and-more' }, ada.access_token)).status).toBe(429);
    await t.engine.erasures.settled();
    expect(t.engine.store.erasureLog.listOf('acme', 100)).toHaveLength(burst + 1);
  });

  test('a request its re-check refuses (the caller demoted meanwhile) takes nothing', async () => {
    // The token is taken before the wait for a running flush, so that a refused loop still
    // pauses no flush past the rate; the re-check after the wait refusing it records nothing,
    // and must then give the token back, as a refused body takes none.
    await makeProject(t, ada.access_token, 'acme');
    const joined = await join(
      t,
      ada.access_token,
      'acme',
      { email: 'bob@example.com', token: bob.access_token },
      'owner',
    );
    expect(joined.status).toBe(200);
    let release = () => {};
    const flush = t.engine.store.flusher.whileIdle(
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    const asked = requestEntered();
    const answer = erase('acme', { user_id: 'victim' }, bob.access_token);
    await asked;
    const demoted = await t.call('POST', '/api/v1/projects/acme/members', {
      token: ada.access_token,
      body: { email: 'bob@example.com', role: 'viewer' },
    });
    expect(demoted.status).toBe(201);
    release();
    await flush;
    expect((await answer).status).toBe(403);
    const burst = erasureLimits.erasuresBurstMax;
    for (let i = 0; i < burst; i++) {
      const res = await erase('acme', { user_id: `u${i}` }, ada.access_token);
      expect({ i, status: res.status }).toEqual({ i, status: 202 });
    }
    expect((await erase('acme', { user_id: 'one-more' }, ada.access_token)).status).toBe(429);
    await t.engine.erasures.settled();
    expect(t.engine.store.erasureLog.listOf('acme', 100)).toHaveLength(burst);
  });

  test('a request that fails (500) before its erasure is recorded takes nothing', async () => {
    // A store failure before the record (here the insert of the erasure's row: a disk I/O
    // error) erased nothing, as a refusal did not: the token goes back as a refusal's does.
    await makeProject(t, ada.access_token, 'acme');
    const log = t.engine.store.erasureLog;
    const create = log.create;
    log.create = () => {
      log.create = create;
      throw new Error('disk I/O error');
    };
    const failed = await erase('acme', { user_id: 'victim' }, ada.access_token);
    expect(failed.status).toBe(500);
    expect(log.listOf('acme', 100)).toEqual([]);
    const burst = erasureLimits.erasuresBurstMax;
    for (let i = 0; i < burst; i++) {
      const res = await erase('acme', { user_id: `u${i}` }, ada.access_token);
      expect({ i, status: res.status }).toEqual({ i, status: 202 });
    }
    expect((await erase('acme', { user_id: 'one-more' }, ada.access_token)).status).toBe(429);
    await t.engine.erasures.settled();
    expect(log.listOf('acme', 100)).toHaveLength(burst);
  });

  test('a request refused for the pending erasures (409) takes nothing from the rate', async () => {
    // README: a refused request takes nothing. A project at its pending erasures is answered
    // 409 each time, not 429 once the 409s spent its burst, and its rate is whole once they end.
    await makeProject(t, ada.access_token, 'acme');
    const max = erasureLimits.erasuresPendingPerProjectMax;
    for (let i = 0; i < max; i++) {
      const match = { tenant: 'acme', field: 'user_id' as const, value: `p${i}`, throughSeq: 0 };
      t.engine.store.erasureLog.create(`er_${i}`, match, max);
    }
    const burst = erasureLimits.erasuresBurstMax;
    for (let i = 0; i <= burst; i++) {
      const res = await erase('acme', { user_id: `u${i}` }, ada.access_token);
      expect({ i, status: res.status }).toEqual({ i, status: 409 });
    }
    for (let i = 0; i < max; i++) t.engine.store.erasureLog.finish(`er_${i}`, 'done');
    for (let i = 0; i < burst; i++) {
      const res = await erase('acme', { user_id: `v${i}` }, ada.access_token);
      expect({ i, status: res.status }).toEqual({ i, status: 202 });
    }
    expect((await erase('acme', { user_id: 'one-more' }, ada.access_token)).status).toBe(429);
    await t.engine.erasures.settled();
  });

  test('the OpenAPI document says so: the 429 and the rate', async () => {
    const spec = (await (await t.call('GET', '/openapi/json')).json()) as {
      paths: Record<string, Record<string, { description?: string; responses: object }>>;
    };
    const post = spec.paths['/api/v1/projects/{id}/erasures']?.post;
    expect(Object.keys(post?.responses ?? {})).toContain('429');
    const { erasuresBurstMax, erasureRefillMs } = erasureLimits;
    expect(post?.description).toContain(
      `at most ${erasuresBurstMax} at once, then one every ${erasureRefillMs / 1000} s (429`,
    );
  });
});

const DAY = '?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z';
/** Every read of a project (with its read key). */
const READS = [
  `/api/v1/stats${DAY}`,
  `/api/v1/timeseries${DAY}&bucket=hour`,
  '/api/v1/events',
  '/api/v1/events/k-1',
  '/api/v1/events/p-1',
  '/api/v1/events/p-2',
  '/api/v1/metrics',
  `/api/v1/metrics/aggregate/cpu${DAY}&bucket=hour`,
  '/api/v1/metrics/latest/cpu',
  `/api/v1/funnel${DAY}&by=user&step=name:page_view&step=name:signup`,
  `/api/v1/funnel${DAY}&by=device&step=path:/p&step=name:signup`,
  `/api/v1/cohorts${DAY}&by=user&start=any&return=any`,
  `/api/v1/cohorts${DAY}&by=device&start=any&return=any`,
];

/** Plausible's Stats API v1 over the project's site (`<project>.example`, an alias of it). */
const plausibleReads = (project: string) => [
  `/api/v1/stats/aggregate?site_id=${project}.example&period=day&date=2026-11-25` +
    '&metrics=visitors,pageviews,events',
  `/api/v1/stats/breakdown?site_id=${project}.example&period=day&date=2026-11-25` +
    '&property=event:page',
];

/** Every read of `project` (its read key) as status and body, and what SQL counts. */
async function readAll(project: string, readKey: string): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (const path of [...READS, ...plausibleReads(project)]) {
    const res = await t.call('GET', path, { token: readKey });
    const body = (await res.text()).replaceAll(project, 'project');
    answers.push([path.replaceAll(project, 'project'), res.status, body]);
  }
  const sql = await t.call('POST', '/api/v1/query', {
    token: readKey,
    body: { sql: 'SELECT count(*), count(DISTINCT user_id), max(value) FROM events' },
  });
  answers.push((await json(sql)).rows);
  return answers;
}

/**
 * Events of the kept person (k-*, flushed) in `project`, and with `person` those of u1 too:
 * p-1 flushed, p-2 not, and u1's metric point, the latest one of cpu.
 */
async function seed(project: string, person: boolean): Promise<string> {
  await makeProject(t, ada.access_token, project);
  const write = (await makeKey(t, ada.access_token, project, 'write')).key;
  const read = (await makeKey(t, ada.access_token, project, 'read')).key;
  const alias = await t.call('POST', `/api/v1/projects/${project}/aliases`, {
    token: ada.access_token,
    body: { alias: `${project}.example`, kind: 'plausible_domain' },
  });
  expect(alias.status).toBe(201);
  const send = async (events: Record<string, unknown>[]) => {
    const res = await t.call('POST', '/api/v1/events/batch', { token: write, body: { events } });
    expect(res.status).toBe(202);
  };
  const at = (minute: number) => `2026-11-25T11:${String(minute).padStart(2, '0')}:00Z`;
  await send([
    { event_id: 'k-1', name: 'page_view', path: '/k', user_id: 'u2', timestamp: at(1) },
    { event_id: 'k-2', name: 'cpu', value: 3, user_id: 'u2', timestamp: at(2) },
  ]);
  if (person) {
    await send([
      { event_id: 'p-1', name: 'page_view', path: '/p', user_id: 'u1', timestamp: at(3) },
    ]);
  }
  await t.engine.store.flusher.flush();
  if (person) {
    await send([
      { event_id: 'p-2', name: 'signup', path: '/p', user_id: 'u1', timestamp: at(4) },
      { event_id: 'p-3', name: 'cpu', value: 9, user_id: 'u1', timestamp: at(5) },
    ]);
  }
  return read;
}

/** Seven rounds of every read of three projects: ~24 s on a 2-vCPU host running 4 files at once. */
const READS_OF_THREE_PROJECTS_MS = 90_000;

describe('the reads of a project once an erasure is done', () => {
  test(
    'answer as if the person never sent an event, also after a restart',
    async () => {
      const acme = await seed('acme', true);
      const globex = await seed('globex', false); // the same events but the person's
      const other = await seed('initech', true); // the same person in another project: kept
      const otherBefore = await readAll('initech', other);
      const expected = await readAll('globex', globex);
      const before = await readAll('acme', acme);
      // Each funnel, cohort and Plausible read answers, and counts the person's events until
      // the erasure.
      const counting = READS.flatMap((path, i) => (/funnel|cohorts/.test(path) ? [i] : []));
      expect(counting).toHaveLength(4);
      for (const i of [...counting, READS.length, READS.length + 1]) {
        const [, status, body] = before[i] as [string, number, string];
        expect(status).toBe(200);
        expect(body).not.toBe((expected[i] as [string, number, string])[2]);
      }
      const live = await t.call('GET', '/api/v1/metrics/latest/cpu', { token: acme });
      expect(await json(live)).toMatchObject({ value: 9 });

      expect((await erase('acme', { user_id: 'u1' }, ada.access_token)).status).toBe(202);
      await t.engine.erasures.settled();
      expect(await readAll('acme', acme)).toEqual(expected);
      expect(await readAll('initech', other)).toEqual(otherBefore);
      await t.restart();
      expect(await readAll('acme', acme)).toEqual(expected);
      expect(await readAll('initech', other)).toEqual(otherBefore);
    },
    READS_OF_THREE_PROJECTS_MS,
  );
});

describe('an erasure by anonymous_id', () => {
  test("also erases the identified events that carry it: PostHog's $device_id", async () => {
    await makeProject(t, ada.access_token, 'acme');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const read = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
    const device = '0193b5c4-6f00-7a3b-8c4d-000000000d01';
    // posthog-js: one browser's $device_id on every event; distinct_id the anonymous id (the
    // same value) until identify, then the user's. u1 also uses another device; u2 is kept.
    const ph = (uuid: string, distinctId: string, properties: Record<string, unknown>) => ({
      uuid,
      event: uuid.startsWith('view') ? '$pageview' : 'signed_up',
      distinct_id: distinctId,
      timestamp: '2026-11-25T11:00:00Z',
      properties: { $current_url: 'https://acme.example/pricing', ...properties },
    });
    const anonymous = { $is_identified: false, $device_id: device };
    const sent = await t.call('POST', '/batch/', {
      body: {
        api_key: write,
        batch: [
          ph('view-1', device, anonymous),
          ph('signup-1', 'u1', { $is_identified: true, $device_id: device }),
          ph('view-2', 'u1', { $is_identified: true, $device_id: device }),
          ph('signup-2', 'u1', { $is_identified: true, $device_id: 'another-device' }),
          ph('view-3', 'u2', { $is_identified: true, $device_id: 'u2-device' }),
        ],
      },
    });
    expect(sent.status).toBe(200);
    await t.engine.store.flusher.flush();
    const res = await erase('acme', { anonymous_id: device }, ada.access_token);
    expect(res.status).toBe(202);
    await t.engine.erasures.settled();
    const done = await t.call('GET', `/api/v1/projects/acme/erasures/${(await json(res)).id}`, {
      token: ada.access_token,
    });
    expect(await json(done)).toMatchObject({ status: 'done', events_erased: 3 });
    const list = await t.call('GET', '/api/v1/events', { token: read });
    const left = ((await json(list)).events as { event_id: string }[]).map((e) => e.event_id);
    // The device's events, anonymous and identified, are gone; u1's on another device and
    // u2's stay (erase by user_id for all of u1's).
    expect(left.sort()).toEqual(['signup-2', 'view-3']);
  });
});

describe('an erasure and the links of by=person', () => {
  test('erasing the user takes its links: its anonymous views are the device’s again', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const write = (await makeKey(t, ada.access_token, 'acme', 'write')).key;
    const read = (await makeKey(t, ada.access_token, 'acme', 'read')).key;
    const send = async (events: Record<string, unknown>[]) => {
      const res = await t.call('POST', '/api/v1/events/batch', { token: write, body: { events } });
      expect(res.status).toBe(202);
    };
    const at = (minute: number) => `2026-11-25T11:${String(minute).padStart(2, '0')}:00Z`;
    const view = (anonymousId: string, minute: number) => ({
      name: 'page_view',
      path: '/p',
      anonymous_id: anonymousId,
      timestamp: at(minute),
    });
    // u1's views on two devices, one link flushed and one not; u2 on a third, kept.
    await send([
      view('a1', 1),
      view('a2', 1),
      view('a3', 1),
      { name: 'login', user_id: 'u1', anonymous_id: 'a1', timestamp: at(2) },
      { name: 'login', user_id: 'u2', anonymous_id: 'a3', timestamp: at(2) },
    ]);
    await t.engine.store.flusher.flush();
    await send([
      { name: 'login', user_id: 'u1', anonymous_id: 'a2', timestamp: at(3) },
      { name: 'signup', user_id: 'u1', timestamp: at(4) },
      { name: 'signup', user_id: 'u2', timestamp: at(4) },
    ]);
    const funnel = async () => {
      const path = `/api/v1/funnel${DAY}&by=person&step=path:/p&step=name:signup`;
      const res = await t.call('GET', path, { token: read });
      return ((await json(res)).steps as { count: number }[]).map((s) => s.count);
    };
    expect(await funnel()).toEqual([2, 2]);
    const erased = async (body: Record<string, string>) => {
      expect((await erase('acme', body, ada.access_token)).status).toBe(202);
      await t.engine.erasures.settled();
    };
    await erased({ user_id: 'u1' });
    // a1 and a2 are no one's: two devices that viewed and never signed up; u2 converts.
    expect(await funnel()).toEqual([3, 1]);
    await erased({ anonymous_id: 'a1' });
    await erased({ anonymous_id: 'a2' });
    expect(await funnel()).toEqual([1, 1]);
    await t.restart();
    expect(await funnel()).toEqual([1, 1]);
  });
});
