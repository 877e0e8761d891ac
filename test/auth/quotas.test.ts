import { afterEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import { type AuthApp, makeAuthApp, makeKey, makeProject, signUp } from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const tightBucket = { perSecond: 1 / 60, burst: 2 };

describe('ingest and read limits are per project', () => {
  test('minting more keys adds no quota', async () => {
    t = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, write: tightBucket, read: tightBucket } },
    });
    const ada = await signUp(t, 'ada@example.com');
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'globex');
    const ingest = async (key: string) =>
      (await t.call('POST', '/api/v1/events', { token: key, body: { name: 'x' } })).status;
    const read = async (key: string) =>
      (await t.call('GET', '/api/v1/events', { token: key })).status;
    const writes = [];
    const reads = [];
    for (let i = 0; i < 3; i++) {
      writes.push(await ingest((await makeKey(t, ada.access_token, 'acme', 'write')).key));
      reads.push(await read((await makeKey(t, ada.access_token, 'acme', 'read')).key));
    }
    expect(writes).toEqual([202, 202, 429]);
    expect(reads).toEqual([200, 200, 429]);
    expect(await t.count('acme')).toBe(2);
    // Another project's bucket is its own.
    expect(await ingest((await makeKey(t, ada.access_token, 'globex', 'write')).key)).toBe(202);
    expect(await read((await makeKey(t, ada.access_token, 'globex', 'read')).key)).toBe(200);
  });
});
