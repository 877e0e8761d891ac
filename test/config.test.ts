import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  test('defaults serve on 127.0.0.1:8080 with fsync durability and a 7-day dedup window', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      durability: 'fsync',
      dedupWindowMs: 7 * 86_400_000,
      storeIp: false,
    });
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });

  test('reads overrides, including durations and booleans', () => {
    const c = loadConfig({
      PORT: '0',
      DEDUP_WINDOW: '0',
      SHUTDOWN_DEADLINE: '30s',
      DURABILITY: 'os',
      STORE_IP: 'yes',
      HOT_BYTES_MAX: '1048576',
    });
    expect(c).toMatchObject({
      port: 0,
      dedupWindowMs: 0,
      shutdownDeadlineMs: 30_000,
      durability: 'os',
      storeIp: true,
      hotBytesMax: 1_048_576,
    });
    expect(loadConfig({ DEDUP_WINDOW: '24h' }).dedupWindowMs).toBe(86_400_000);
  });

  test('lists every bad value with its rule', () => {
    const attempt = () => loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', DEDUP_WINDOW: 'a week' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT="70000": must be a whole number from 0 to 65535/);
    expect(attempt).toThrow(/LOG_LEVEL="loud": must be one of debug, info, warn, error, silent/);
    expect(attempt).toThrow(/DEDUP_WINDOW="a week": must be a duration/);
  });

  test('intervals and deadlines of 0 are refused; a bare number is milliseconds', () => {
    for (const [name, min] of [
      ['FLUSH_INTERVAL', 50],
      ['COMPACT_INTERVAL', 100],
      ['QUERY_TIMEOUT', 10],
      ['ACTOR_IDLE', 1000],
      ['SHUTDOWN_DEADLINE', 100],
      ['ACCESS_TOKEN_TTL', 10_000],
      ['SIGNING_KEY_ROTATE', 60_000],
    ] as const) {
      expect(() => loadConfig({ [name]: '0' })).toThrow(
        new RegExp(`${name}="0": must be a duration of at least ${min}ms`),
      );
    }
    expect(loadConfig({ FLUSH_INTERVAL: '750' }).flushIntervalMs).toBe(750);
    expect(loadConfig({ DEDUP_WINDOW: '0' }).dedupWindowMs).toBe(0);
  });
});
