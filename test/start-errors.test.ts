// The messages a start stops with (exit 2): each names what the operator set, as they set it.

import { expect, test } from 'bun:test';
import { listenError, StartError } from '../src/start-errors.ts';

// `cannot listen on ::1:8080` read as an address without a port, or as port 1:8080.
test('a start that cannot listen names the address as a URL writes it, IPv6 in brackets', () => {
  const busy = new Error('Failed to start server. Is port 8080 in use?\nmore');
  const cases: [string, string][] = [
    ['127.0.0.1', '127.0.0.1:8080'],
    ['localhost', 'localhost:8080'],
    ['::1', '[::1]:8080'],
    ['fe80::1%eth0', '[fe80::1%eth0]:8080'],
    ['[::1]', '[::1]:8080'],
  ];
  for (const [host, address] of cases) {
    const error = listenError(host, 8080, busy);
    expect(error).toBeInstanceOf(StartError);
    expect(error.message).toBe(
      `cannot listen on ${address}: Failed to start server. Is port 8080 in use?`,
    );
  }
});
