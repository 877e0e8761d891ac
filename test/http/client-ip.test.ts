import { describe, expect, test } from 'bun:test';
import { normalizeIp } from '../../src/http/context.ts';

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
