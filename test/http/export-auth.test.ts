// GET /api/v1/export in AUTH_MODE=required: a read key exports its own project only, in every
// format; another project's events never appear, and asking for that project is refused as on
// every other read; a member's access token exports the projects they belong to; no
// credentials, or a write key, export nothing.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AuthApp,
  join,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';
import { parquetOf } from '../helpers/parquet.ts';

interface World {
  ada: Tokens;
  bob: Tokens;
  cyd: Tokens;
  acmeWrite: string;
  acmeRead: string;
  globexWrite: string;
  globexRead: string;
}

let t: AuthApp;
let w: World;

beforeEach(async () => {
  t = await makeAuthApp();
  const ada = await signUp(t, 'ada@example.com');
  const bob = await signUp(t, 'bob@example.com');
  const cyd = await signUp(t, 'cyd@example.com');
  await makeProject(t, ada.access_token, 'acme');
  await makeProject(t, bob.access_token, 'globex');
  // cyd is a viewer of acme, and of nothing else.
  const joined = await join(t, ada.access_token, 'acme', {
    email: 'cyd@example.com',
    token: cyd.access_token,
  });
  expect(joined.status).toBe(200);
  w = {
    ada,
    bob,
    cyd,
    acmeWrite: (await makeKey(t, ada.access_token, 'acme', 'write')).key,
    acmeRead: (await makeKey(t, ada.access_token, 'acme', 'read')).key,
    globexWrite: (await makeKey(t, bob.access_token, 'globex', 'write')).key,
    globexRead: (await makeKey(t, bob.access_token, 'globex', 'read')).key,
  };
  for (const [key, prefix] of [
    [w.acmeWrite, 'acme'],
    [w.globexWrite, 'globex'],
  ] as const) {
    const events = [1, 2, 3].map((i) => ({
      event_id: `${prefix}-${i}`,
      name: 'page_view',
      path: `/${prefix}-page`,
    }));
    const res = await t.call('POST', '/api/v1/events/batch', { token: key, body: { events } });
    expect(res.status).toBe(202);
  }
  // Some of each project flushed, the rest not.
  await t.engine.store.flusher.flush();
  const late = { event_id: 'globex-4', name: 'signup', path: '/globex-page' };
  expect(
    (await t.call('POST', '/api/v1/events', { token: w.globexWrite, body: late })).status,
  ).toBe(202);
});
afterEach(() => t.close());

const exportOf = (query: string, token?: string) =>
  t.call('GET', `/api/v1/export${query}`, token === undefined ? {} : { token });

/** The text of an export in any format (a Parquet file's rows as NDJSON). */
async function textOf(res: Response, format: string): Promise<string> {
  if (format !== 'parquet') return res.text();
  return (await parquetOf(res)).rows.map((row) => JSON.stringify(row)).join('\n');
}

test('a read key exports its own project only, in every format', async () => {
  for (const format of ['ndjson', 'csv', 'parquet']) {
    const res = await exportOf(`?format=${format}`, w.acmeRead);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`tally-acme-`);
    const text = await textOf(res, format);
    expect(text).toContain('/acme-page');
    expect(text).not.toContain('globex');
  }
  const ndjson = await (await exportOf('', w.globexRead)).text();
  const ids = ndjson
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { event_id: string }).event_id);
  expect(ids.sort()).toEqual(['globex-1', 'globex-2', 'globex-3', 'globex-4']);
});

test("another project's events: 403 for its tenant_id, in every format, and nothing sent", async () => {
  for (const format of ['ndjson', 'csv', 'parquet']) {
    for (const token of [w.acmeRead, w.ada.access_token, w.cyd.access_token]) {
      const res = await exportOf(`?format=${format}&tenant_id=globex`, token);
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).not.toContain('globex-page');
    }
  }
  // No Parquet file was written for a refused export.
  const staging = path.join(t.dataDir, 'staging');
  expect(fs.readdirSync(staging).filter((f) => f.startsWith('temp-'))).toEqual([]);
});

test('a member exports the project they belong to; the owner of another project theirs', async () => {
  const cyd = await exportOf('?tenant_id=acme&format=csv', w.cyd.access_token);
  expect(cyd.status).toBe(200);
  const text = await cyd.text();
  expect(text.split('\r\n').filter((l) => l.startsWith('acme-'))).toHaveLength(3);
  expect(text).not.toContain('globex');
  const bob = await exportOf('?tenant_id=globex', w.bob.access_token);
  expect((await bob.text()).trimEnd().split('\n')).toHaveLength(4);
});

test('no credentials, an unknown key or a write key export nothing', async () => {
  expect((await exportOf('')).status).toBe(401);
  expect((await exportOf('', 'tk_read_unknown')).status).toBe(401);
  const write = await exportOf('', w.acmeWrite);
  expect(write.status).toBe(403);
  expect(await write.text()).not.toContain('acme-page');
});
