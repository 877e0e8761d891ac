import { describe, expect, test } from 'bun:test';
import { addressKeyOf, isPublicAddress, sentAddressOf } from '../../src/core/index.ts';

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

describe('isPublicAddress', () => {
  test('public IPv4 and IPv6 (global unicast) addresses are public', () => {
    for (const ip of [
      '81.2.69.160',
      '8.8.8.8',
      '1.1.1.1',
      '100.63.255.255',
      '100.128.0.1',
      '172.15.0.1',
      '172.32.0.1',
      '192.0.1.1',
      '198.51.101.1',
      '223.255.255.254',
      '2a02:ffc0::1',
      '2001:4860:4860::8888',
      '3ffe::1',
    ]) {
      expect([ip, isPublicAddress(ip)]).toEqual([ip, true]);
    }
  });

  test('private, loopback, link-local, shared, documentation, multicast, reserved: not', () => {
    for (const ip of [
      '0.1.2.3',
      '10.0.0.1',
      '127.0.0.1',
      '100.64.0.1',
      '100.127.255.255',
      '169.254.1.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '192.0.0.8',
      '192.0.2.1',
      '198.18.0.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.7',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:81.2.69.160',
      '64:ff9b::1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'ff02::1',
      '2001:db8::1',
      '3fff::1',
    ]) {
      expect([ip, isPublicAddress(ip)]).toEqual([ip, false]);
    }
  });

  test('text that is no address is not public', () => {
    for (const junk of ['unknown', '', 'fe80::1%eth0', '1::2::3', '081.2.69.160', '81.2.69']) {
      expect([junk, isPublicAddress(junk)]).toEqual([junk, false]);
    }
  });
});

describe('sentAddressOf', () => {
  test('an address, in the one spelling normalizeIp gives it', () => {
    expect(sentAddressOf(' 81.2.69.160 ')).toBe('81.2.69.160');
    expect(sentAddressOf('81.2.69.160:443')).toBe('81.2.69.160');
    expect(sentAddressOf('[2001:DB8::0:1]:8080')).toBe('2001:db8::1');
    expect(sentAddressOf('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(sentAddressOf('fe80::1%eth0')).toBe('fe80::1%eth0');
  });

  test('text that is no address, or over 64 characters, is none', () => {
    for (const text of ['', 'unknown', 'example.com', '1.2.3.4, 10.0.0.1', '1.2.3', '::g']) {
      expect(sentAddressOf(text)).toBeNull();
    }
    expect(sentAddressOf(`fe80::1%${'z'.repeat(60)}`)).toBeNull();
  });
});
