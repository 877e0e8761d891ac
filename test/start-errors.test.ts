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

// Bun's own words name neither setting: `EINVAL: invalid argument, listen` for a HOST name that
// resolves to no address, `EADDRNOTAVAIL` for an address of another machine.
test('a start that cannot listen says which setting to change, HOST or PORT', () => {
  const error = (code: string, message: string) => Object.assign(new Error(message), { code });
  const cases: [string, number, Error, string][] = [
    [
      'tally.invalid',
      8080,
      error('EINVAL', 'EINVAL: invalid argument, listen'),
      'cannot listen on tally.invalid:8080: EINVAL: invalid argument, listen (HOST must be an ' +
        'address of this machine, or a name that resolves to one)',
    ],
    [
      '192.0.2.1',
      8080,
      error('EADDRNOTAVAIL', 'EADDRNOTAVAIL: address not available, listen'),
      'cannot listen on 192.0.2.1:8080: EADDRNOTAVAIL: address not available, listen (HOST ' +
        'must be an address of this machine, or a name that resolves to one)',
    ],
    [
      '127.0.0.1',
      80,
      error('EACCES', 'permission denied 127.0.0.1:80'),
      'cannot listen on 127.0.0.1:80: permission denied 127.0.0.1:80 (a PORT under 1024 takes ' +
        'a privilege this user lacks: choose a higher one, or put a proxy in front)',
    ],
    [
      '127.0.0.1',
      8080,
      error('EADDRINUSE', 'Failed to start server. Is port 8080 in use?'),
      'cannot listen on 127.0.0.1:8080: Failed to start server. Is port 8080 in use? (another ' +
        'process listens on this PORT)',
    ],
  ];
  for (const [host, port, cause, message] of cases) {
    expect(listenError(host, port, cause).message).toBe(message);
  }
});
