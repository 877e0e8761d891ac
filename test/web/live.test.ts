// The dashboard's live socket (web/live.ts) never puts its credential in the URL: the token
// goes in the subprotocol, and a token a subprotocol cannot carry (a key pasted with a space or
// a `/` in it, `Bearer eyJ…`) is no token the server issues, so the socket opens without it
// (and is refused, as such a token is on every read) instead of sending it as `?token=`, where
// proxies log it. Run against a stub WebSocket that refuses such protocols as browsers do.

import { expect, test } from 'bun:test';
import { connectLive, type LiveHandlers } from '../../web/live.ts';
import { stubLiveGlobals } from './page-globals.ts';

/** RFC 7230's token, which a WebSocket subprotocol must be (browsers throw a SyntaxError). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const opened: { url: string; protocols: string[] }[] = [];

class StubWebSocket extends EventTarget {
  constructor(url: string | URL, protocols: string[] = []) {
    super();
    if (protocols.some((p) => !TOKEN.test(p))) {
      throw new DOMException('invalid subprotocol', 'SyntaxError');
    }
    opened.push({ url: String(url), protocols });
  }
  send(): void {}
  close(): void {}
}

stubLiveGlobals(StubWebSocket);

const handlers: LiveHandlers = {
  onSnapshot: () => {},
  onHeartbeat: () => {},
  onState: () => {},
  onRefused: () => {},
  onGone: () => {},
};

/** The URL and subprotocols of the socket the page opens with `token`. */
function socketOf(token: string) {
  opened.length = 0;
  const live = connectLive(() => ({ token, project: 'acme' }), handlers);
  live.close();
  expect(opened).toHaveLength(1);
  return opened[0] as { url: string; protocols: string[] };
}

test('a token goes in the subprotocol, never in the URL', () => {
  const key = 'rk_AbCdEfGhIjKl.0123456789-_abcdefghijklmnopqrstuvwxyzABCDEFGH';
  expect(socketOf(key)).toEqual({
    url: 'wss://tally.test/api/v1/live?tenant_id=acme',
    protocols: ['tally.live', `bearer.${key}`],
  });
});

test('a token a subprotocol cannot carry opens the socket without it, not as ?token=', () => {
  for (const token of ['Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', 'rk_abc/def', 'rk_abc def']) {
    const { url, protocols } = socketOf(token);
    expect({ token, url, protocols }).toEqual({
      token,
      url: 'wss://tally.test/api/v1/live?tenant_id=acme',
      protocols: ['tally.live'],
    });
  }
});
