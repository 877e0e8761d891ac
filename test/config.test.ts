import { describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { ConfigError, loadConfig, loadSettings } from '../src/config.ts';

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
      HOT_BYTES_MAX: '2097152',
      FLUSH_HOT_BYTES: '1048576',
    });
    expect(c).toMatchObject({
      port: 0,
      dedupWindowMs: 0,
      shutdownDeadlineMs: 30_000,
      durability: 'os',
      storeIp: true,
      hotBytesMax: 2_097_152,
      flushHotBytes: 1_048_576,
    });
    expect(loadConfig({ DEDUP_WINDOW: '24h' }).dedupWindowMs).toBe(86_400_000);
  });

  test('GEOIP_DB is unset by default (no countries); a path is resolved', () => {
    expect(loadConfig({}).geoipDb).toBeNull();
    expect(loadConfig({ GEOIP_DB: ' ' }).geoipDb).toBeNull();
    expect(loadConfig({ GEOIP_DB: 'geo/country.mmdb' }).geoipDb).toBe(
      path.resolve('geo/country.mmdb'),
    );
  });

  test('a GEOIP_DB that cannot be opened is listed with every other bad value', () => {
    const file = path.resolve('geo/asn.mmdb');
    const refuse = (f: string): never => {
      throw new Error(`${f}: records carry no country.iso_code\n(a second line)`);
    };
    const attempt = () => loadSettings(refuse, { PORT: '-0', GEOIP_DB: 'geo/asn.mmdb' });
    expect(attempt).toThrow(
      new ConfigError(
        'invalid configuration:\n' +
          '  PORT="-0": must be a whole number from 0 to 65535\n' +
          `  GEOIP_DB="${file}": ${file}: records carry no country.iso_code`,
      ),
    );
    const opened: string[] = [];
    const open = (f: string) => {
      opened.push(f);
      return { file: f };
    };
    expect(loadSettings(open, {}).countries).toBeNull();
    expect(loadSettings(open, { GEOIP_DB: 'geo/country.mmdb' }).countries).toEqual({
      file: path.resolve('geo/country.mmdb'),
    });
    expect(opened).toEqual([path.resolve('geo/country.mmdb')]);
  });

  test('lists every bad value with its rule', () => {
    const attempt = () => loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', DEDUP_WINDOW: 'a week' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT="70000": must be a whole number from 0 to 65535/);
    expect(attempt).toThrow(/LOG_LEVEL="loud": must be one of debug, info, warn, error, silent/);
    expect(attempt).toThrow(/DEDUP_WINDOW="a week": must be a duration/);
  });

  // README's Settings give sizes as 512 MiB, 2 GiB: HOT_BYTES_MAX=1GiB was a refusal that
  // asked for "a whole number from 1 to 1099511627776".
  test('sizes are bytes, or with a binary unit; a refusal names the range in units', () => {
    const c = loadConfig({
      HOT_BYTES_MAX: '1GiB',
      FLUSH_HOT_BYTES: '256 mib',
      DUCKDB_MEMORY_BYTES_MAX: '4GiB',
      DISK_FREE_BYTES_MIN: '0',
      LIVE_WS_BUFFERED_BYTES_MAX: '2MiB',
      COMMIT_QUEUE_BYTES_MAX: '65536KiB',
      ROLLUP_BYTES_MAX: '1TiB',
    });
    expect(c).toMatchObject({
      hotBytesMax: 2 ** 30,
      flushHotBytes: 2 ** 28,
      diskFreeBytesMin: 0,
      duckdbMemoryBytesMax: 2 ** 32,
      commitQueueBytesMax: 2 ** 26,
      rollupBytesMax: 2 ** 40,
    });
    expect(c.live.wsBufferedBytesMax).toBe(2 ** 21);
    for (const [value, rule] of [
      ['1TB', 'must be a size from 1 byte to 1 TiB: a number of bytes, or with a unit'],
      ['1.5GiB', 'must be a size from 1 byte to 1 TiB'],
      ['2TiB', 'must be a size from 1 byte to 1 TiB'],
      ['0', 'must be a size from 1 byte to 1 TiB'],
    ]) {
      expect(() => loadConfig({ HOT_BYTES_MAX: value })).toThrow(
        `HOT_BYTES_MAX="${value}": ${rule}`,
      );
    }
    expect(() => loadConfig({ WAL_FILE_BYTES_MAX: '1KiB' })).toThrow(
      'WAL_FILE_BYTES_MAX="1KiB": must be a size from 1 MiB to 4 GiB',
    );
  });

  test('LOG_LEVEL, DURABILITY and REGISTRATION are read in any case, as AUTH_MODE is', () => {
    const c = loadConfig({ LOG_LEVEL: 'WARN', DURABILITY: 'Os', REGISTRATION: ' CLOSED ' });
    expect(c).toMatchObject({ logLevel: 'warn', durability: 'os' });
    expect(c.auth.registrationOpen).toBe(false);
    expect(loadConfig({ AUTH_MODE: 'REQUIRED' }).authMode).toBe('required');
    const attempt = () => loadConfig({ LOG_LEVEL: 'LOUD', REGISTRATION: 'Shut' });
    expect(attempt).toThrow(/LOG_LEVEL="LOUD": must be one of debug, info, warn, error, silent/);
    expect(attempt).toThrow(/REGISTRATION="Shut": must be one of open, closed/);
  });

  test('NO_RETRY_WAIT: 5s by default, 0 turns it off, at most 60s', () => {
    expect(loadConfig({}).noRetryWaitMs).toBe(5_000);
    expect(loadConfig({ NO_RETRY_WAIT: '0' }).noRetryWaitMs).toBe(0);
    expect(loadConfig({ NO_RETRY_WAIT: '1500ms' }).noRetryWaitMs).toBe(1_500);
    expect(() => loadConfig({ NO_RETRY_WAIT: '61s' })).toThrow(
      'NO_RETRY_WAIT="61s": must be a duration from 0ms to 60000ms',
    );
    expect(() => loadConfig({ NO_RETRY_WAIT: 'soon' })).toThrow(/NO_RETRY_WAIT="soon": must be/);
  });

  test('a flush size of more than half the in-memory budget is refused', () => {
    const attempt = () => loadConfig({ HOT_BYTES_MAX: String(64 * 1024 ** 2) });
    expect(attempt).toThrow(/FLUSH_HOT_BYTES must be at most half of HOT_BYTES_MAX/);
  });

  test("a relation's refusal names the values in effect, and which are defaults", () => {
    // Setting one side alone is refused for the other's default: the message says it is one.
    expect(() => loadConfig({ LIVE_SUBSCRIBERS_MAX: '1000' })).toThrow(
      'LIVE_SUBSCRIBERS_PER_TENANT_MAX must not exceed LIVE_SUBSCRIBERS_MAX: ' +
        'LIVE_SUBSCRIBERS_PER_TENANT_MAX is 10000 (its default), LIVE_SUBSCRIBERS_MAX is 1000',
    );
    expect(() => loadConfig({ COMMIT_QUEUE_EVENTS_MAX: '100000' })).toThrow(
      'MAILBOX_EVENTS_MAX must be at most half of COMMIT_QUEUE_EVENTS_MAX: ' +
        'MAILBOX_EVENTS_MAX is 250000 (its default), COMMIT_QUEUE_EVENTS_MAX is 100000',
    );
    expect(() => loadConfig({ HOT_BYTES_MAX: String(64 * 1024 ** 2) })).toThrow(
      'FLUSH_HOT_BYTES must be at most half of HOT_BYTES_MAX: ' +
        'FLUSH_HOT_BYTES is 67108864 (its default), HOT_BYTES_MAX is 67108864',
    );
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: '60d' })).toThrow(
      'REFRESH_TOKEN_TTL must be at least ACCESS_TOKEN_TTL: ' +
        'REFRESH_TOKEN_TTL is 2592000000ms (its default), ACCESS_TOKEN_TTL is 5184000000ms',
    );
  });

  test('a tenant mailbox of more than half the commit queue is refused', () => {
    const attempt = () =>
      loadConfig({ COMMIT_QUEUE_EVENTS_MAX: '100000', MAILBOX_EVENTS_MAX: '50001' });
    expect(attempt).toThrow(/MAILBOX_EVENTS_MAX must be at most half of COMMIT_QUEUE_EVENTS_MAX/);
    const c = loadConfig({ COMMIT_QUEUE_EVENTS_MAX: '100000', MAILBOX_EVENTS_MAX: '50000' });
    expect(c).toMatchObject({ commitQueueEventsMax: 100_000, mailboxEventsMax: 50_000 });
  });

  test('intervals and deadlines of 0 are refused, and past what a timer holds; bare ms', () => {
    for (const [name, min, maxDays] of [
      ['FLUSH_INTERVAL', 50, 24],
      ['COMPACT_INTERVAL', 100, 24],
      ['QUERY_TIMEOUT', 10, 24],
      ['ACTOR_IDLE', 1000, 24],
      ['SHUTDOWN_DEADLINE', 100, 24],
      ['ACCESS_TOKEN_TTL', 10_000, 3650],
      // At least ACCESS_TOKEN_TTL's least: 0 is no "forever" for a refresh token.
      ['REFRESH_TOKEN_TTL', 10_000, 3650],
      ['SIGNING_KEY_ROTATE', 60_000, 3650],
      ['INVITATION_TTL', 60_000, 3650],
    ] as const) {
      const rule = `must be a duration from ${min}ms to ${maxDays}d`;
      expect(() => loadConfig({ [name]: '0' })).toThrow(new RegExp(`${name}="0": ${rule}`));
      // A timer past ~24.8 days fires at once (a 30-day deadline ended shutdown at once).
      expect(() => loadConfig({ [name]: `${maxDays + 1}d` })).toThrow(new RegExp(rule));
      const longest = { [name]: `${maxDays}d`, REFRESH_TOKEN_TTL: '3650d' };
      expect(() => loadConfig(longest)).not.toThrow();
    }
    expect(() => loadConfig({ DEDUP_WINDOW: '3651d' })).toThrow(
      'DEDUP_WINDOW="3651d": must be at most 3650d',
    );
    expect(loadConfig({ FLUSH_INTERVAL: '750' }).flushIntervalMs).toBe(750);
    expect(loadConfig({ DEDUP_WINDOW: '0' }).dedupWindowMs).toBe(0);
    // A bare number is ms: DEDUP_WINDOW=7 (meant as days) remembered each id for 7 ms, so every
    // retry was stored again; a window shorter than a minute is refused.
    for (const short of ['7', '59s', '59999ms']) {
      expect(() => loadConfig({ DEDUP_WINDOW: short })).toThrow(
        `DEDUP_WINDOW="${short}": must be 0 (forever) or at least 1m (a bare number is ms)`,
      );
    }
    expect(loadConfig({ DEDUP_WINDOW: '1m' }).dedupWindowMs).toBe(60_000);
    expect(loadConfig({}).auth.invitationTtlMs).toBe(7 * 86_400_000);
    expect(loadConfig({ INVITATION_TTL: '2d' }).auth.invitationTtlMs).toBe(2 * 86_400_000);
  });

  test('numbers, hosts and emails are what they say', () => {
    for (const [name, value, rule] of [
      ['PORT', '0x50', 'must be a whole number'],
      ['PORT', '1e3', 'must be a whole number'],
      ['PORT', '-0', 'must be a whole number from 0 to 65535'],
      ['PORT', '-1', 'must be a whole number from 0 to 65535'],
      ['RETENTION_DAYS', '-00', 'must be a whole number of days'],
      ['HOST', 'not_a_host', 'must be an IP address or a host name'],
      ['HOST', '999.1.1.1 x', 'must be an IP address or a host name'],
      ['BOOTSTRAP_ADMIN_EMAIL', 'notanemail', 'must be an email address'],
    ] as const) {
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=.*${rule}`));
    }
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1');
    expect(loadConfig({ HOST: 'tally.internal' }).host).toBe('tally.internal');
  });

  test('a colon in HOST only as part of an IPv6 literal: a host with a port is refused', () => {
    for (const value of ['localhost:9000', '127.0.0.1:8080', '[::1]:8080', 'a:b', ':::', '[]']) {
      expect(() => loadConfig({ HOST: value })).toThrow(
        /HOST=.*: must be an IP address or a host name.*\(the port goes in PORT\)/,
      );
    }
    for (const value of ['::', '::1', '[::1]', 'fe80::1', '::ffff:127.0.0.1', '2001:db8::7']) {
      expect(loadConfig({ HOST: value }).host).toBe(value);
    }
    // Still a loopback host, so the default stays AUTH_MODE=open.
    expect(loadConfig({ HOST: '[::1]' }).authMode).toBe('open');
  });

  test('AUTH_MODE=open on a public HOST is refused unless ALLOW_OPEN_ON_PUBLIC=1', () => {
    // README "Users, projects and keys": refused "with a message unless ALLOW_OPEN_ON_PUBLIC=1".
    const open = { HOST: '0.0.0.0', AUTH_MODE: 'open' };
    expect(() => loadConfig(open)).toThrow(/ALLOW_OPEN_ON_PUBLIC=1/);
    expect(() => loadConfig({ ...open, ALLOW_OPEN_ON_PUBLIC: '0' })).toThrow(
      /ALLOW_OPEN_ON_PUBLIC=1/,
    );
    expect(loadConfig({ ...open, ALLOW_OPEN_ON_PUBLIC: '1' }).authMode).toBe('open');
    expect(loadConfig({ HOST: '0.0.0.0' }).authMode).toBe('required');
  });

  test('bounds on projects, keys, aliases, members, invitations: defaults, overrides, refusals', () => {
    expect(loadConfig({}).auth.bounds).toEqual({
      projectsPerUserMax: 100,
      keysPerProjectMax: 100,
      aliasesPerProjectMax: 100,
      membersPerProjectMax: 1000,
      invitationsPerProjectMax: 100,
    });
    expect(loadConfig({}).auth.rates.projectCreate).toEqual({ perSecond: 60 / 3600, burst: 10 });
    const c = loadConfig({
      PROJECTS_PER_USER_MAX: '5',
      KEYS_PER_PROJECT_MAX: '6',
      ALIASES_PER_PROJECT_MAX: '7',
      MEMBERS_PER_PROJECT_MAX: '8',
      INVITATIONS_PER_PROJECT_MAX: '9',
      PROJECT_CREATE_PER_HOUR: '120',
      PROJECT_CREATE_BURST: '3',
    });
    expect(c.auth.bounds).toEqual({
      projectsPerUserMax: 5,
      keysPerProjectMax: 6,
      aliasesPerProjectMax: 7,
      membersPerProjectMax: 8,
      invitationsPerProjectMax: 9,
    });
    expect(c.auth.rates.projectCreate).toEqual({ perSecond: 120 / 3600, burst: 3 });
    const attempt = () =>
      loadConfig({
        PROJECTS_PER_USER_MAX: '0',
        KEYS_PER_PROJECT_MAX: 'many',
        ALIASES_PER_PROJECT_MAX: '-1',
        MEMBERS_PER_PROJECT_MAX: '1.5',
        INVITATIONS_PER_PROJECT_MAX: '1000001',
        PROJECT_CREATE_BURST: '0',
      });
    for (const name of [
      'PROJECTS_PER_USER_MAX="0"',
      'KEYS_PER_PROJECT_MAX="many"',
      'ALIASES_PER_PROJECT_MAX="-1"',
      'MEMBERS_PER_PROJECT_MAX="1.5"',
      'INVITATIONS_PER_PROJECT_MAX="1000001"',
      'PROJECT_CREATE_BURST="0"',
    ]) {
      expect(attempt).toThrow(`${name}: must be a whole number from 1 to 1000000`);
    }
  });

  // README "Settings": the ranges of the live settings, and the relations checked at start.
  test('live settings keep to their ranges; a mailbox and the dedup index hold a full batch; tokens outlive', () => {
    for (const [name, low, high, below, above] of [
      ['LIVE_PUSH_INTERVAL', '25ms', '1s', '24ms', '1001ms'],
      ['LIVE_HEARTBEAT_INTERVAL', '2s', '15s', '1999ms', '15001ms'],
      // At least the largest live message (294 KiB): see test/live/message-size.test.ts.
      ['LIVE_WS_BUFFERED_BYTES_MAX', '301056', '16777215', '301055', '16777216'],
      ['LIVE_WS_BUFFERED_BYTES_TOTAL_MAX', '1MiB', '1TiB', '301055', '1099511627777'],
      ['MAILBOX_EVENTS_MAX', '5000', '250000', '4999', '250001'],
      ['DEDUP_KEYS_MAX', '5000', '268435456', '4999', '268435457'],
    ] as const) {
      expect(() => loadConfig({ [name]: low })).not.toThrow();
      expect(() => loadConfig({ [name]: high })).not.toThrow();
      expect(() => loadConfig({ [name]: below })).toThrow(new RegExp(`${name}="${below}"`));
      // MAILBOX_EVENTS_MAX's top is half of COMMIT_QUEUE_EVENTS_MAX (500,000 by default).
      expect(() => loadConfig({ [name]: above })).toThrow(new RegExp(name));
    }
    expect(() =>
      loadConfig({ LIVE_SUBSCRIBERS_PER_TENANT_MAX: '101', LIVE_SUBSCRIBERS_MAX: '100' }),
    ).toThrow(/LIVE_SUBSCRIBERS_PER_TENANT_MAX must not exceed LIVE_SUBSCRIBERS_MAX/);
    expect(() => loadConfig({ LIVE_WS_BUFFERED_BYTES_TOTAL_MAX: '512KiB' })).toThrow(
      'LIVE_WS_BUFFERED_BYTES_MAX must not exceed LIVE_WS_BUFFERED_BYTES_TOTAL_MAX: ' +
        'LIVE_WS_BUFFERED_BYTES_MAX is 1048576 (its default), ' +
        'LIVE_WS_BUFFERED_BYTES_TOTAL_MAX is 524288',
    );
    expect(loadConfig({}).live.wsBufferedBytesTotalMax).toBe(128 * 2 ** 20);
    const perTenant = { LIVE_SUBSCRIBERS_PER_TENANT_MAX: '100', LIVE_SUBSCRIBERS_MAX: '100' };
    expect(loadConfig(perTenant).live.subscribersPerTenantMax).toBe(100);
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: '2h', REFRESH_TOKEN_TTL: '1h' })).toThrow(
      /REFRESH_TOKEN_TTL must be at least ACCESS_TOKEN_TTL/,
    );
    expect(loadConfig({ ACCESS_TOKEN_TTL: '1h', REFRESH_TOKEN_TTL: '1h' }).auth.refreshTtlMs).toBe(
      3_600_000,
    );
  });

  test('RETENTION_DAYS: 0 (keep forever) by default, whole days up to 36500', () => {
    expect(loadConfig({}).retentionDays).toBe(0);
    expect(loadConfig({ RETENTION_DAYS: '30' }).retentionDays).toBe(30);
    expect(loadConfig({ RETENTION_DAYS: '36500' }).retentionDays).toBe(36_500);
    for (const bad of ['-1', '36501', '30d', '1.5', 'forever']) {
      const attempt = () => loadConfig({ RETENTION_DAYS: bad });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(
        `RETENTION_DAYS="${bad}": must be a whole number of days from 1 to 36500, or 0 to keep ` +
          'events forever',
      );
    }
  });
});
