// GET /api/v1/export in AUTH_MODE=required: a read key exports its own project only, in every
// format; another project's events never appear, and asking for that project is refused as on
// every other read; a member's access token exports the projects they belong to; no
// credentials, or a write key, export nothing; an export whose credentials lapse while it is
// sent (a revoked key, a member removed) is cut, as a live socket is closed.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CREDENTIALS_RECHECK_MS } from '../../src/live/index.ts';
import {
  type AuthApp,
  join,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';
import { TEST_EXPORT_PAGE } from '../helpers/app.ts';
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

describe('credentials that lapse while an export is sent', () => {
  /** More than one page of acme events, whose properties make a Parquet file of chunks. */
  async function sendMany(): Promise<number> {
    const count = TEST_EXPORT_PAGE.rows * 3;
    const events = Array.from({ length: count }, (_, i) => ({
      event_id: `bulk-${i}`,
      name: 'blob',
      properties: { noise: Array.from({ length: 8 }, () => crypto.randomUUID()).join('') },
    }));
    const res = await t.call('POST', '/api/v1/events/batch', {
      token: w.acmeWrite,
      body: { events },
    });
    expect(res.status).toBe(202);
    return count + 3;
  }

  /** Reads `reader` to its end: its bytes, and the error that cut it, if one did. */
  async function drain(reader: ReadableStreamDefaultReader<Uint8Array>) {
    let bytes = 0;
    try {
      while (true) {
        const chunk = await reader.read();
        if (chunk.done) return { bytes, cut: null };
        bytes += chunk.value.byteLength;
      }
    } catch (error) {
      return { bytes, cut: error as { code?: string } };
    }
  }

  const openFiles = () =>
    fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).includes(path.join(t.dataDir, 'staging'));
      } catch {
        return false;
      }
    });

  test('a read key revoked mid-export: the NDJSON, CSV or Parquet stream is cut', async () => {
    await sendMany();
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const read = await makeKey(t, w.ada.access_token, 'acme', 'read');
      const res = await exportOf(`?format=${format}`, read.key);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      const revoked = await t.call('DELETE', `/api/v1/projects/acme/keys/${read.id}`, {
        token: w.ada.access_token,
      });
      expect(revoked.status).toBe(204);
      t.clock.advance(CREDENTIALS_RECHECK_MS);
      const { cut } = await drain(reader);
      expect(cut?.code).toBe('unauthorized');
    }
    // The reader sees the cut as soon as the stream errors; the Parquet file is closed just
    // after it, asynchronously: give it a moment on a busy machine, never forever.
    for (let waited = 0; openFiles().length > 0 && waited < 5_000; waited += 10) {
      await Bun.sleep(10);
    }
    expect(openFiles()).toEqual([]);
    expect(t.logs.filter((l) => l.includes('its credentials lapsed'))).toHaveLength(3);
    expect(t.logs.filter((l) => l.includes('export failed'))).toEqual([]);
  });

  test('a read key revoked mid-export: cut at once, before the 5 s check, read or not', async () => {
    // The clock does not move: only the loss of access signalled by the revocation cuts it,
    // though the client asks for nothing more meanwhile (a Parquet export's file is closed).
    await sendMany();
    const lapsedLogs = () => t.logs.filter((l) => l.includes('its credentials lapsed')).length;
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const read = await makeKey(t, w.ada.access_token, 'acme', 'read');
      const res = await exportOf(`?format=${format}`, read.key);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      const before = lapsedLogs();
      const revoked = await t.call('DELETE', `/api/v1/projects/acme/keys/${read.id}`, {
        token: w.ada.access_token,
      });
      expect(revoked.status).toBe(204);
      // Rounds are spaced 1 s apart (CREDENTIALS_RECHECK_SOON_MS): wait, never forever.
      for (let waited = 0; lapsedLogs() === before && waited < 5_000; waited += 10) {
        await Bun.sleep(10);
      }
      expect([format, lapsedLogs()]).toEqual([format, before + 1]);
      // The Parquet file is closed just after the cut, asynchronously: a moment, never forever.
      for (let waited = 0; openFiles().length > 0 && waited < 5_000; waited += 10) {
        await Bun.sleep(10);
      }
      expect(openFiles()).toEqual([]);
      const { cut } = await drain(reader);
      expect([format, cut?.code]).toEqual([format, 'unauthorized']);
    }
    expect(t.logs.filter((l) => l.includes('export failed'))).toEqual([]);
  });

  test('a read key revoked during a Parquet copy: the copy is interrupted, a 401', async () => {
    await sendMany();
    const read = await makeKey(t, w.ada.access_token, 'acme', 'read');
    const { store } = t.engine;
    const snapshot = store.snapshot;
    let copying: () => void = () => {};
    const copyStarted = new Promise<void>((resolve) => {
      copying = resolve;
    });
    // The copy takes 1.5 s: long enough to revoke the key while it runs.
    store.snapshot = async (tenant, range) => {
      const taken = await snapshot.call(store, tenant, range);
      const run = taken.connection.run.bind(taken.connection);
      taken.connection.run = async (sql, ...rest) => {
        if (sql.trimStart().startsWith('COPY')) {
          copying();
          await Bun.sleep(1500);
        }
        return run(sql, ...rest);
      };
      return taken;
    };
    try {
      const answer = exportOf('?format=parquet', read.key);
      await copyStarted;
      const revoked = await t.call('DELETE', `/api/v1/projects/acme/keys/${read.id}`, {
        token: w.ada.access_token,
      });
      expect(revoked.status).toBe(204);
      const res = await answer;
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('PAR1');
    } finally {
      store.snapshot = snapshot;
    }
    const staging = path.join(t.dataDir, 'staging');
    expect(fs.readdirSync(staging).filter((f) => f.startsWith('temp-'))).toEqual([]);
  });

  test('a read key revoked as a Parquet copy ends: a 401, its file closed', async () => {
    // The round that finds the key revoked comes once DuckDB finished the copy (an interrupt
    // then is dropped), before the file is streamed: no answer may begin, no file stay open.
    await sendMany();
    const read = await makeKey(t, w.ada.access_token, 'acme', 'read');
    const { store } = t.engine;
    const snapshot = store.snapshot;
    const keys = t.auth.stores.keys;
    const verify = keys.verify.bind(keys);
    let refused: () => void = () => {};
    const roundRan = new Promise<void>((resolve) => {
      refused = resolve;
    });
    keys.verify = (...args: Parameters<typeof verify>) => {
      const found = verify(...args);
      if (found === null && args[0] === read.key) refused();
      return found;
    };
    store.snapshot = async (tenant, range) => {
      const taken = await snapshot.call(store, tenant, range);
      const run = taken.connection.run.bind(taken.connection);
      taken.connection.run = async (sql, ...rest) => {
        const result = await run(sql, ...rest);
        if (sql.trimStart().startsWith('COPY')) {
          const revoked = await t.call('DELETE', `/api/v1/projects/acme/keys/${read.id}`, {
            token: w.ada.access_token,
          });
          expect(revoked.status).toBe(204);
          await roundRan; // the export's round found the key revoked: it was cut
        }
        return result;
      };
      return taken;
    };
    try {
      const res = await exportOf('?format=parquet', read.key);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('PAR1');
    } finally {
      store.snapshot = snapshot;
      keys.verify = verify;
    }
    for (let waited = 0; openFiles().length > 0 && waited < 5_000; waited += 10) {
      await Bun.sleep(10);
    }
    expect(openFiles()).toEqual([]);
    const staging = path.join(t.dataDir, 'staging');
    expect(fs.readdirSync(staging).filter((f) => f.startsWith('temp-'))).toEqual([]);
  });

  test('a member removed from the project mid-export: the stream is cut', async () => {
    const events = await sendMany();
    const res = await exportOf('?tenant_id=acme', w.cyd.access_token);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBeGreaterThan(0);
    const cyd = t.auth.stores.projects.members('acme').find((m) => m.email === 'cyd@example.com');
    const removed = await t.call('DELETE', `/api/v1/projects/acme/members/${cyd?.userId}`, {
      token: w.ada.access_token,
    });
    expect(removed.status).toBe(204);
    t.clock.advance(CREDENTIALS_RECHECK_MS);
    const { cut } = await drain(reader);
    expect(cut?.code).toBe('unauthorized');
    expect(events).toBeGreaterThan(TEST_EXPORT_PAGE.rows);
  });

  test('a project deleted mid-export: cut at once, not ended as if whole', async () => {
    // No time passes: the credentials are not checked again before the next page, and each
    // page read after the deletion would find none of the project's events.
    for (const format of ['ndjson', 'csv', 'parquet']) {
      const project = `gone-${format}`;
      await makeProject(t, w.ada.access_token, project);
      const write = (await makeKey(t, w.ada.access_token, project, 'write')).key;
      const read = (await makeKey(t, w.ada.access_token, project, 'read')).key;
      const count = TEST_EXPORT_PAGE.rows * 3;
      const events = Array.from({ length: count }, (_, i) => ({
        event_id: `bulk-${i}`,
        name: 'blob',
        properties: { noise: Array.from({ length: 8 }, () => crypto.randomUUID()).join('') },
      }));
      const sent = await t.call('POST', '/api/v1/events/batch', { token: write, body: { events } });
      expect(sent.status).toBe(202);
      const res = await exportOf(`?format=${format}`, read);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      const deleted = await t.call('DELETE', `/api/v1/projects/${project}`, {
        token: w.ada.access_token,
      });
      expect(deleted.status).toBe(204);
      const { cut } = await drain(reader);
      expect([format, cut?.code]).toEqual([format, 'unauthorized']);
    }
    expect(t.logs.filter((l) => l.includes('its credentials lapsed'))).toHaveLength(3);
  });

  test('a member who gets a second project mid-export still exports the first', async () => {
    // cyd, a member of acme only, exports without tenant_id (her only project); while it is
    // sent she creates a project of her own. Her access to acme did not lapse: the export is
    // checked again for acme, not for what the query would name now (several projects: 400).
    const events = await sendMany();
    const res = await exportOf('', w.cyd.access_token);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await makeProject(t, w.cyd.access_token, 'cyd-own');
    let text = new TextDecoder().decode(first.value);
    while (true) {
      t.clock.advance(CREDENTIALS_RECHECK_MS);
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text.trimEnd().split('\n')).toHaveLength(events);
    expect(t.logs.filter((l) => l.includes('its credentials lapsed'))).toEqual([]);
  });

  test('a check that fails (a database error) is not a lapse: the export goes on', async () => {
    // One failed check keeps streaming and is asked again (the cut after several in a row:
    // test/http/export-stream.test.ts).
    const events = await sendMany();
    const keys = t.auth.stores.keys;
    const verify = keys.verify.bind(keys);
    let failing = 0;
    keys.verify = (...args: Parameters<typeof verify>) => {
      if (failing > 0) {
        failing--;
        throw new Error('SQLITE_BUSY: database is locked');
      }
      return verify(...args);
    };
    try {
      const res = await exportOf('', w.acmeRead);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      failing = 1;
      let text = '';
      while (true) {
        t.clock.advance(CREDENTIALS_RECHECK_MS);
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      expect(failing).toBe(0);
      expect(text.trimEnd().split('\n')).toHaveLength(events);
      expect(t.logs.filter((l) => l.includes('checking credentials failed'))).toHaveLength(1);
    } finally {
      keys.verify = verify;
    }
  });

  test('credentials that still hold are checked again and the export goes to its end', async () => {
    const events = await sendMany();
    const res = await exportOf('', w.acmeRead);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (true) {
      t.clock.advance(CREDENTIALS_RECHECK_MS);
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text.trimEnd().split('\n')).toHaveLength(events);
  });
});
