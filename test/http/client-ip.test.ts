import { describe, expect, test } from 'bun:test';
import { normalizeIp } from '../../src/core/index.ts';
import { clientIp } from '../../src/http/context.ts';

describe('normalizeIp', () => {
  test('one spelling per address, so one visitor gets one visitor_id', () => {
    for (const spelling of [
      '203.0.113.7',
      ' 203.0.113.7',
      '203.0.113.7:51234',
      '::ffff:203.0.113.7',
    ]) {
      expect(normalizeIp(spelling)).toBe('203.0.113.7');
    }
    for (const spelling of [
      '2001:db8::1',
      '2001:DB8::1',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '[2001:db8::1]',
      '[2001:db8::1]:443',
    ]) {
      expect(normalizeIp(spelling)).toBe('2001:db8::1');
    }
  });

  test('what is not an address is kept as sent, within 64 characters', () => {
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1%eth0');
    expect(normalizeIp('unknown')).toBe('unknown');
    expect(normalizeIp('x'.repeat(500))).toHaveLength(64);
  });
});

describe('clientIp', () => {
  const peer = { requestIP: () => ({ address: '::ffff:10.0.0.1' }) };
  const withHops = (hops: string) =>
    new Request('http://localhost/', { headers: { 'x-forwarded-for': hops } });

  test('behind a trusted proxy: the last X-Forwarded-For hop, the one the proxy appended', () => {
    expect(clientIp(withHops('6.6.6.6, 203.0.113.7'), peer, true)).toBe('203.0.113.7');
    expect(clientIp(withHops('203.0.113.7'), peer, true)).toBe('203.0.113.7');
  });

  test('otherwise the socket peer, whatever the client claims', () => {
    expect(clientIp(withHops('6.6.6.6, 203.0.113.7'), peer, false)).toBe('10.0.0.1');
    expect(clientIp(new Request('http://localhost/'), null, false)).toBeNull();
  });
});
