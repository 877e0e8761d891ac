import { describe, expect, test } from 'bun:test';
import { isLoopbackHost, resolveAuthMode } from '../../src/auth/index.ts';

const decide = (host: string, authMode?: string, allowOpenOnPublic = false) =>
  resolveAuthMode({ host, authMode, allowOpenOnPublic });

describe('auth mode', () => {
  test('open is the default on loopback addresses only', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(decide(host)).toEqual({ kind: 'ok', mode: 'open' });
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1']) {
      expect(decide(host)).toEqual({ kind: 'ok', mode: 'required' });
    }
  });

  test('an explicit mode wins where it is safe', () => {
    expect(decide('127.0.0.1', 'required')).toEqual({ kind: 'ok', mode: 'required' });
    expect(decide('0.0.0.0', 'required')).toEqual({ kind: 'ok', mode: 'required' });
    expect(decide('localhost', 'open')).toEqual({ kind: 'ok', mode: 'open' });
  });

  test('open on a public address is refused with a clear message unless allowed', () => {
    const refused = decide('0.0.0.0', 'open');
    expect(refused.kind).toBe('refused');
    if (refused.kind === 'refused') {
      expect(refused.message).toContain('ALLOW_OPEN_ON_PUBLIC=1');
      expect(refused.message).toContain('HOST=0.0.0.0');
    }
    expect(decide('0.0.0.0', 'open', true)).toEqual({ kind: 'ok', mode: 'open' });
  });

  test('an unknown mode is refused', () => {
    const refused = decide('127.0.0.1', 'sometimes');
    expect(refused).toEqual({
      kind: 'refused',
      message: 'AUTH_MODE="sometimes": must be one of open, required',
    });
  });

  test('loopback detection rejects look-alikes', () => {
    expect(isLoopbackHost('127.0.0')).toBe(false);
    expect(isLoopbackHost('127.0.0.256')).toBe(false);
    expect(isLoopbackHost('127.evil.com')).toBe(false);
    expect(isLoopbackHost('app.localhost')).toBe(true);
  });
});
