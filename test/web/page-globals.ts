// The page's globals the dashboard's modules use (fetch, sessionStorage, location, WebSocket),
// stubbed for a test file run outside a browser, and put back after it.

import { afterAll, beforeAll } from 'bun:test';

/** Installs `fetch` and an in-memory sessionStorage and location for this file's tests. */
export function stubPageGlobals(fetch: typeof globalThis.fetch): void {
  const saved = {
    fetch: globalThis.fetch,
    location: Object.getOwnPropertyDescriptor(globalThis, 'location'),
    sessionStorage: Object.getOwnPropertyDescriptor(globalThis, 'sessionStorage'),
  };
  beforeAll(() => {
    const storage = new Map<string, string>();
    Object.defineProperty(globalThis, 'sessionStorage', {
      value: {
        getItem: (key: string) => storage.get(key) ?? null,
        setItem: (key: string, value: string) => void storage.set(key, value),
        removeItem: (key: string) => void storage.delete(key),
      },
      configurable: true,
    });
    Object.defineProperty(globalThis, 'location', {
      value: { origin: 'http://tally.test' },
      configurable: true,
    });
    globalThis.fetch = fetch;
  });
  afterAll(() => {
    globalThis.fetch = saved.fetch;
    for (const key of ['location', 'sessionStorage'] as const) {
      const descriptor = saved[key];
      if (descriptor === undefined) Reflect.deleteProperty(globalThis, key);
      else Object.defineProperty(globalThis, key, descriptor);
    }
  });
}

/**
 * Installs `socketClass` as the page's WebSocket, and a location on https://tally.test, for
 * this file's tests of the live socket (web/live.ts).
 */
export function stubLiveGlobals(socketClass: unknown): void {
  const saved = {
    WebSocket: globalThis.WebSocket,
    location: Object.getOwnPropertyDescriptor(globalThis, 'location'),
  };
  beforeAll(() => {
    globalThis.WebSocket = socketClass as typeof WebSocket;
    const location = { href: 'https://tally.test/dashboard', protocol: 'https:' };
    Object.defineProperty(globalThis, 'location', { value: location, configurable: true });
  });
  afterAll(() => {
    globalThis.WebSocket = saved.WebSocket;
    if (saved.location === undefined) Reflect.deleteProperty(globalThis, 'location');
    else Object.defineProperty(globalThis, 'location', saved.location);
  });
}
