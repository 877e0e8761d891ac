// The answer of a server whose store still opens (listener.ts), as a browser beacon reads it.

import { describe, expect, test } from 'bun:test';
import { startingAnswer } from '../../src/http/index.ts';

describe('the starting answer to a page on another origin', () => {
  test('a beacon can read its 503 and Retry-After (CORS), so browser SDKs count a status', () => {
    // posthog-js resends a request that got a status (a 5xx) up to 10 times, but one that got
    // none (no Access-Control-Allow-Origin: status 0, as a network error) only 3 times, 3, 6 and
    // 12 s later: a start that rebuilds the deduplication index (about a minute) outlasted them.
    const beacon = new Request('http://tally.example:8080/e/?ip=0', {
      method: 'POST',
      headers: { origin: 'https://shop.example', 'content-type': 'text/plain' },
      body: '[]',
    });
    const answer = startingAnswer(beacon, 1);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  test('a request without an Origin gets no CORS headers', () => {
    const answer = startingAnswer(new Request('http://tally.example:8080/ready'), 1);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });
});
