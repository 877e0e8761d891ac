// Which header a request's credential is read from (src/auth/credentials.ts).

import { expect, test } from 'bun:test';
import { ingestCredentialOf, readCredentialOf } from '../../src/auth/credentials.ts';

const request = (headers: Record<string, string>) => new Request('http://t/', { headers });

test('X-Tally-Key wins over Authorization: a proxy’s bearer beside it changes nothing', () => {
  const both = request({ 'x-tally-key': 'rk_mine', authorization: 'Bearer rk_proxy' });
  expect(readCredentialOf(both)).toEqual({ kind: 'read_key', value: 'rk_mine' });
  const write = request({ 'x-tally-key': 'wk_mine', authorization: 'Bearer wk_proxy' });
  expect(ingestCredentialOf(write, null)).toEqual({ kind: 'write_key', value: 'wk_mine' });
  // An SDK's own key (Segment's Basic user, PostHog's api_key) comes first on ingest.
  expect(ingestCredentialOf(write, 'wk_sdk')).toEqual({ kind: 'write_key', value: 'wk_sdk' });
});

test('Authorization alone is read when it is Bearer; another scheme is no credential', () => {
  expect(readCredentialOf(request({ authorization: 'bearer  eyJ.x.y ' }))).toEqual({
    kind: 'jwt',
    value: 'eyJ.x.y',
  });
  expect(readCredentialOf(request({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeNull();
  expect(readCredentialOf(request({}))).toBeNull();
});
