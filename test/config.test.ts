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
});
