// README "Projects and keys": a revoked key stops working at once. Umami's and Plausible's
// requests refused for overload wait for room (NO_RETRY_WAIT) after their key or site alias was
// checked; a key revoked or an alias removed while they wait must not be written after the
// revocation's answer. Against the real AUTH_MODE=required resolver, the node over its
// in-memory budget (HOT_BYTES_MAX) until the test flushes.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import {
  type AuthApp,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

let t: AuthApp;
let ada: Tokens;
/** Write keys of two projects, filling the in-memory budget one after the other. */
let fill: string[];
let write: { key: string; id: string };

beforeEach(async () => {
  t = await makeAuthApp({ engine: { hotBytesMax: 256 * 1024 }, noRetryWaitMs: 5_000 });
  ada = await signUp(t, 'ada@example.com');
  await makeProject(t, ada.access_token, 'acme');
  await makeProject(t, ada.access_token, 'globex');
  fill = [
    (await makeKey(t, ada.access_token, 'acme', 'write')).key,
    (await makeKey(t, ada.access_token, 'globex', 'write')).key,
  ];
  write = await makeKey(t, ada.access_token, 'acme', 'write');
  for (const [alias, kind] of [
    ['example.com', 'plausible_domain'],
    [WEBSITE, 'umami_website'],
  ]) {
    const res = await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: ada.access_token,
      body: { alias, kind },
    });
    expect(res.status).toBe(201);
  }
});
afterEach(() => t.close());

/**
 * Native events until the node refuses for its in-memory budget (hot events to flush): of one
 * project until its own 429 (once it holds 3/4 of the budget, over its part of half), then of
 * another, whose part (a third: one of two projects and one to come) is more than the rest.
 */
async function fillHot(): Promise<void> {
  const keys = [...fill];
  for (let i = 0; t.engine.ingestor.admission() === null; i++) {
    expect(i).toBeLessThan(200);
    const res = await t.call('POST', '/api/v1/events', {
      headers: { 'x-tally-key': keys[0] as string },
      body: { name: 'fill', properties: { pad: 'p'.repeat(7_000) } },
    });
    if (res.status === 429 && keys.length > 1) keys.shift();
    else expect(res.status).toBe(202);
  }
}

const beacon = (headers: Record<string, string> = {}, d = 'example.com') =>
  t.call('POST', '/api/event', {
    headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0', ...headers },
    text: JSON.stringify({ n: 'waited', u: 'https://example.com/', d }),
  });
const umami = (path: '/api/send' | '/api/batch') => {
  const item = { type: 'event', payload: { website: WEBSITE, url: '/waited' } };
  return t.call('POST', path, { body: path === '/api/send' ? item : [item] });
};

/** Notes when `answer` is answered, to see that a request is still waiting. */
function watched(answer: Promise<Response>) {
  const state = { answered: false, answer };
  void answer.then(() => {
    state.answered = true;
  });
  return state;
}

/**
 * The answer to `send()` made while the node is full, after `project`'s `alias` was removed as
 * it waited and a flush made room (its next try).
 */
async function answerAfterAliasRemoved(
  send: () => Promise<Response>,
  project: string,
  alias: string,
): Promise<Response> {
  const sent = watched(send());
  await Bun.sleep(100);
  const removed = await t.call('DELETE', `/api/v1/projects/${project}/aliases/${alias}`, {
    token: ada.access_token,
  });
  expect(removed.status).toBe(204);
  expect(sent.answered).toBe(false);
  await t.engine.store.flusher.flush();
  return sent.answer;
}

/** The events of `acme` stored past `filled` (the count once the node was full). */
async function waited(filled: number): Promise<number> {
  await t.engine.store.flusher.flush();
  return (await t.count('acme')) - filled;
}

test('a write key revoked while its request waits for room: 401, nothing written', async () => {
  await fillHot();
  const filled = await t.count('acme');
  const sent = watched(beacon({ 'x-tally-key': write.key }));
  await Bun.sleep(100);
  const revoke = await t.call('DELETE', `/api/v1/projects/acme/keys/${write.id}`, {
    token: ada.access_token,
  });
  expect(revoke.status).toBe(204);
  expect(sent.answered).toBe(false);
  await t.engine.store.flusher.flush(); // room: the next try would write
  const res = await sent.answer;
  expect(res.status).toBe(401);
  expect(await waited(filled)).toBe(0);
});

test('a site alias removed while its requests wait for room: 403, nothing written', async () => {
  await fillHot();
  const filled = await t.count('acme');
  // Umami's batch answers item by item: its item is the 403, in `details` of a 200.
  const requests = [beacon(), umami('/api/send'), umami('/api/batch')].map(watched);
  await Bun.sleep(100);
  for (const alias of ['example.com', WEBSITE]) {
    const res = await t.call('DELETE', `/api/v1/projects/acme/aliases/${alias}`, {
      token: ada.access_token,
    });
    expect(res.status).toBe(204);
  }
  expect(requests.map((r) => r.answered)).toEqual([false, false, false]);
  await t.engine.store.flusher.flush();
  const answers = await Promise.all(requests.map((r) => r.answer));
  expect(answers.map((r) => r.status)).toEqual([403, 403, 200]);
  expect(await answers[2]?.json()).toMatchObject({
    size: 1,
    processed: 0,
    errors: 1,
    details: [{ index: 0, response: { error: { code: 'forbidden', status: 403 } } }],
  });
  expect(await waited(filled)).toBe(0);
});

test('a key and aliases still valid after the wait: written once, the rate not spent again', async () => {
  await fillHot();
  const filled = await t.count('acme');
  const requests = [beacon({ 'x-tally-key': write.key }), beacon(), umami('/api/send')];
  const watching = requests.map(watched);
  await Bun.sleep(100);
  await t.engine.store.flusher.flush();
  const answers = await Promise.all(watching.map((r) => r.answer));
  expect(answers.map((r) => r.status)).toEqual([202, 202, 200]);
  expect(await waited(filled)).toBe(3);
  // The aliases' rate was spent once by each request, not again at each try: the next one
  // finds it down by three (the Plausible beacon, the Umami item, itself).
  const next = await beacon();
  const limit = Number(next.headers.get('x-ratelimit-limit'));
  expect(limit).toBeGreaterThan(3);
  expect(Number(next.headers.get('x-ratelimit-remaining'))).toBe(limit - 3);
});

test('an Umami batch waiting: an alias removed meanwhile refuses only the events it wrote', async () => {
  const other = '0d0e6a2c-9a59-4a4e-8f1a-2d1f3c4b5a6e';
  const res = await t.call('POST', '/api/v1/projects/globex/aliases', {
    token: ada.access_token,
    body: { alias: other, kind: 'umami_website' },
  });
  expect(res.status).toBe(201);
  await fillHot();
  const filled = await t.count('acme');
  // acme's page view, and an identify of the other site's without data: answered, not stored.
  const items = [
    { type: 'event', payload: { website: WEBSITE, url: '/waited' } },
    { type: 'identify', payload: { website: other, id: 'u1' } },
  ];
  const send = () => t.call('POST', '/api/batch', { body: items });
  const answer = await answerAfterAliasRemoved(send, 'globex', other);
  // The removed alias writes nothing in this batch: acme's event, still allowed, is stored.
  expect(answer.status).toBe(200);
  expect(await answer.json()).toEqual({ size: 2, processed: 2, errors: 0, details: [] });
  expect(await waited(filled)).toBe(1);
});

test("an Umami batch of two websites, one's alias removed while it waits: its items refused, the other's written", async () => {
  const other = '0d0e6a2c-9a59-4a4e-8f1a-2d1f3c4b5a6e';
  const res = await t.call('POST', '/api/v1/projects/globex/aliases', {
    token: ada.access_token,
    body: { alias: other, kind: 'umami_website' },
  });
  expect(res.status).toBe(201);
  await fillHot();
  const filled = { acme: await t.count('acme'), globex: await t.count('globex') };
  // Umami answers a batch item by item (each an /api/send): before, the whole batch was a 403
  // and acme's two events, still allowed, were lost with globex's (Umami's clients never resend).
  const item = (website: string, url: string) => ({ type: 'event', payload: { website, url } });
  const items = [item(WEBSITE, '/a'), item(other, '/b'), item(WEBSITE, '/c'), item(other, '/d')];
  const send = () => t.call('POST', '/api/batch', { body: items });
  const answer = await answerAfterAliasRemoved(send, 'globex', other);
  expect(answer.status).toBe(200);
  const refused = { error: { code: 'forbidden', status: 403 } };
  expect(await answer.json()).toMatchObject({
    size: 4,
    processed: 2,
    errors: 2,
    details: [
      { index: 1, response: refused },
      { index: 3, response: refused },
    ],
  });
  expect(await waited(filled.acme)).toBe(2);
  expect((await t.count('globex')) - filled.globex).toBe(0);
});

test("a Plausible domain list waiting, one site's alias removed meanwhile: only it is left out", async () => {
  const res = await t.call('POST', '/api/v1/projects/globex/aliases', {
    token: ada.access_token,
    body: { alias: 'globex.example', kind: 'plausible_domain' },
  });
  expect(res.status).toBe(201);
  await fillHot();
  const filled = { acme: await t.count('acme'), globex: await t.count('globex') };
  // As before the wait (and as Plausible drops a site it does not know): the removed alias's
  // site is left out and counted; before, the whole beacon was a 403 and acme's page view,
  // still allowed, was lost with it (the tracker never resends).
  const send = () => beacon({}, 'globex.example,example.com');
  const answer = await answerAfterAliasRemoved(send, 'globex', 'globex.example');
  expect(answer.status).toBe(202);
  expect(answer.headers.get('x-plausible-dropped')).toBe('1');
  expect(await waited(filled.acme)).toBe(1);
  expect((await t.count('globex')) - filled.globex).toBe(0);
});

test('a Plausible list naming two aliases of a project, one removed while it waits: one event', async () => {
  const res = await t.call('POST', '/api/v1/projects/acme/aliases', {
    token: ada.access_token,
    body: { alias: 'acme.example', kind: 'plausible_domain' },
  });
  expect(res.status).toBe(201);
  await fillHot();
  const filled = await t.count('acme');
  // The project's one event stands for both names: it is written while either still names it.
  const send = () => beacon({}, 'acme.example,example.com');
  const answer = await answerAfterAliasRemoved(send, 'acme', 'acme.example');
  expect(answer.status).toBe(202);
  expect(answer.headers.get('x-plausible-dropped')).toBeNull();
  expect(await waited(filled)).toBe(1);
});
