import { describe, expect, test } from 'bun:test';
import { addressKeyOf } from '../../src/core/index.ts';

describe('addressKeyOf', () => {
  test('IPv6 clients are keyed by their /64, whatever the spelling', () => {
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2::ffff',
      '2001:DB8:1:2:aaaa:bbbb:cccc:dddd',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:db8:1:2:0:0:10.0.0.1',
    ]) {
      expect(addressKeyOf(address)).toBe('2001:db8:1:2::/64');
    }
    expect(addressKeyOf('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(addressKeyOf('fe80::')).toBe('fe80:0:0:0::/64');
  });

  test('IPv4, and IPv4-mapped IPv6, is keyed by the address', () => {
    expect(addressKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKeyOf('::ffff:cb00:7107')).toBe('203.0.113.7');
    expect(addressKeyOf('0:0:0:0:0:ffff:cb00:7107')).toBe('203.0.113.7');
  });

  test('what is not an address is kept as sent, within 64 characters; none is unknown', () => {
    for (const junk of [
      'fe80::1%eth0',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3',
      '::ffff:1.2.3.999',
    ]) {
      expect(addressKeyOf(junk)).toBe(junk);
    }
    expect(addressKeyOf('x'.repeat(500))).toHaveLength(64);
    expect(addressKeyOf(null)).toBe('unknown');
  });
});
