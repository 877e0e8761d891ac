// The only reader of the environment. Typed defaults, environment overrides, validated at start:
// a bad value stops the process with a message naming the variable, the value and the rule.

import * as path from 'node:path';
import { type AuthMode, type AuthOptions, resolveAuthMode } from './auth/index.ts';
import { defaultTunables, LOG_LEVELS, type LogLevel, type Tunables } from './core/index.ts';
import { defaultLiveLimits, type LiveLimits } from './live/index.ts';
import { type Durability, FAULT_POINTS, type FaultPoint } from './storage/index.ts';

export interface Config extends Tunables {
  host: string;
  port: number;
  dataDir: string;
  logLevel: LogLevel;
  durability: Durability;
  storeIp: boolean;
  trustProxy: boolean;
  /** Distinct event names and paths each tenant's live rollups track before "(other)". */
  rollupNamesMax: number;
  rollupPathsMax: number;
  /** Tests only: the flush/compaction step at which the process kills itself. */
  faultPoint: FaultPoint | null;
  authMode: AuthMode;
  auth: Omit<AuthOptions, 'passwordCost'>;
  /** Origins allowed to call read routes from a browser. */
  corsOrigins: string[];
  bootstrapAdminEmail: string;
  live: Pick<
    LiveLimits,
    | 'pushIntervalMs'
    | 'heartbeatIntervalMs'
    | 'wsBufferedBytesMax'
    | 'subscribersPerTenantMax'
    | 'subscribersMax'
  >;
  /** Origins allowed to open live WebSockets besides the server's own (`*`: any). */
  liveAllowedOrigins: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** What a parser returns for a value it refuses: the rule the value broke. */
class Invalid {
  constructor(readonly rule: string) {}
}

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function loadConfig(env: Env = Bun.env): Config {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T | Invalid): T => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = parse(raw);
    if (value instanceof Invalid) {
      problems.push(`${name}=${JSON.stringify(raw)}: ${value.rule}`);
      return fallback;
    }
    return value;
  };
  const int = (min: number, max: number) => (raw: string) => {
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : new Invalid(`must be a whole number from ${min} to ${max}`);
  };
  const bool = (raw: string) => {
    const v = raw.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return new Invalid('must be true or false (1/0, yes/no, on/off)');
  };
  const duration = (raw: string) => {
    const m = DURATION.exec(raw);
    return m
      ? Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number)
      : new Invalid('must be a duration like 500ms, 30s, 15m, 24h or 7d');
  };
  const durationIn = (minMs: number, maxMs: number) => (raw: string) => {
    const ms = duration(raw);
    if (ms instanceof Invalid) return ms;
    return ms >= minMs && ms <= maxMs
      ? ms
      : new Invalid(`must be a duration from ${minMs}ms to ${maxMs}ms`);
  };
  const rate = (prefix: string, perSecond: number, burst: number) => ({
    perSecond: read(`${prefix}_PER_SECOND`, perSecond, int(1, 1e9)),
    burst: read(`${prefix}_BURST`, burst, int(1, 1e9)),
  });
  const perMinute = (name: string, fallback: number) => {
    const n = read(name, fallback, int(1, 1e6));
    return { perSecond: n / 60, burst: n };
  };
  const originList = (raw: string): string[] | Invalid => {
    const origins = raw
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    for (const o of origins) {
      if (!URL.canParse(o) || new URL(o).origin !== o) {
        return new Invalid(`${o} is not an origin like https://app.example.com`);
      }
    }
    return origins;
  };
  const oneOf =
    <T extends string>(values: readonly T[]) =>
    (raw: string): T | Invalid =>
      (values as readonly string[]).includes(raw)
        ? (raw as T)
        : new Invalid(`must be one of ${values.join(', ')}`);

  const logLevel = read<LogLevel>('LOG_LEVEL', 'info', oneOf(LOG_LEVELS));
  const durability = read<Durability>('DURABILITY', 'fsync', oneOf(['fsync', 'os'] as const));
  const config: Config = {
    host: read('HOST', '127.0.0.1', (raw) => raw),
    port: read('PORT', 8080, int(0, 65535)),
    dataDir: path.resolve(read('DATA_DIR', './data', (raw) => raw)),
    logLevel,
    durability,
    storeIp: read('STORE_IP', false, bool),
    trustProxy: read('TRUST_PROXY', false, bool),
    dedupWindowMs: read('DEDUP_WINDOW', defaultTunables.dedupWindowMs, duration),
    dedupKeysMax: read('DEDUP_KEYS_MAX', defaultTunables.dedupKeysMax, int(1, 2 ** 28)),
    commitQueueEventsMax: read(
      'COMMIT_QUEUE_EVENTS_MAX',
      defaultTunables.commitQueueEventsMax,
      int(1, 10_000_000),
    ),
    commitQueueBytesMax: read(
      'COMMIT_QUEUE_BYTES_MAX',
      defaultTunables.commitQueueBytesMax,
      int(1, 2 ** 40),
    ),
    hotBytesMax: read('HOT_BYTES_MAX', defaultTunables.hotBytesMax, int(1, 2 ** 40)),
    walFileBytesMax: read(
      'WAL_FILE_BYTES_MAX',
      defaultTunables.walFileBytesMax,
      int(1 << 20, 2 ** 32),
    ),
    diskFreeBytesMin: read(
      'DISK_FREE_BYTES_MIN',
      defaultTunables.diskFreeBytesMin,
      int(0, 2 ** 50),
    ),
    shutdownDeadlineMs: read('SHUTDOWN_DEADLINE', defaultTunables.shutdownDeadlineMs, duration),
    retryAfterSeconds: read('RETRY_AFTER_SECONDS', defaultTunables.retryAfterSeconds, int(1, 3600)),
    mailboxEventsMax: read('MAILBOX_EVENTS_MAX', defaultTunables.mailboxEventsMax, int(5000, 1e8)),
    actorsMax: read('ACTORS_MAX', defaultTunables.actorsMax, int(1, 1e7)),
    actorIdleMs: read('ACTOR_IDLE', defaultTunables.actorIdleMs, duration),
    flushIntervalMs: read('FLUSH_INTERVAL', defaultTunables.flushIntervalMs, duration),
    flushHotBytes: read('FLUSH_HOT_BYTES', defaultTunables.flushHotBytes, int(1 << 20, 2 ** 40)),
    compactIntervalMs: read('COMPACT_INTERVAL', defaultTunables.compactIntervalMs, duration),
    compactSegmentsMin: read(
      'COMPACT_SEGMENTS_MIN',
      defaultTunables.compactSegmentsMin,
      int(2, 1e6),
    ),
    smallSegmentBytesMax: read(
      'SMALL_SEGMENT_BYTES_MAX',
      defaultTunables.smallSegmentBytesMax,
      int(1, 2 ** 40),
    ),
    duckdbMemoryBytesMax: read(
      'DUCKDB_MEMORY_BYTES_MAX',
      defaultTunables.duckdbMemoryBytesMax,
      int(64 << 20, 2 ** 45),
    ),
    duckdbThreads: read('DUCKDB_THREADS', defaultTunables.duckdbThreads, int(1, 256)),
    queryTimeoutMs: read('QUERY_TIMEOUT', defaultTunables.queryTimeoutMs, duration),
    queryRowsMax: read('QUERY_ROWS_MAX', defaultTunables.queryRowsMax, int(1, 1e7)),
    rollupNamesMax: read('ROLLUP_NAMES_MAX', 1000, int(10, 1e6)),
    rollupPathsMax: read('ROLLUP_PATHS_MAX', 1000, int(10, 1e6)),
    faultPoint: read<FaultPoint | null>('FAULT_POINT', null, oneOf(FAULT_POINTS)),
    authMode: 'open',
    auth: {
      accessTtlMs: read('ACCESS_TOKEN_TTL', 15 * 60_000, duration),
      refreshTtlMs: read('REFRESH_TOKEN_TTL', 30 * 86_400_000, duration),
      signingKeyRotateMs: read('SIGNING_KEY_ROTATE', 30 * 86_400_000, duration),
      registrationOpen: read('REGISTRATION', 'open', oneOf(['open', 'closed'] as const)) === 'open',
      rates: {
        write: rate('RATE_WRITE', 1000, 2000),
        read: rate('RATE_READ', 20, 100),
        loginEmail: perMinute('LOGIN_PER_EMAIL_PER_MINUTE', 5),
        loginIp: perMinute('LOGIN_PER_IP_PER_MINUTE', 30),
      },
      rateKeysMax: read('RATE_LIMIT_KEYS_MAX', 100_000, int(1, 1e7)),
    },
    corsOrigins: read('CORS_ORIGINS', [], originList),
    bootstrapAdminEmail: read('BOOTSTRAP_ADMIN_EMAIL', 'admin@tally.local', (raw) => raw),
    live: {
      pushIntervalMs: read(
        'LIVE_PUSH_INTERVAL',
        defaultLiveLimits.pushIntervalMs,
        durationIn(25, 1000),
      ),
      heartbeatIntervalMs: read(
        'LIVE_HEARTBEAT_INTERVAL',
        defaultLiveLimits.heartbeatIntervalMs,
        durationIn(2_000, 600_000),
      ),
      wsBufferedBytesMax: read(
        'LIVE_WS_BUFFERED_BYTES_MAX',
        defaultLiveLimits.wsBufferedBytesMax,
        int(64 * 1024, 16 * 1024 * 1024 - 1),
      ),
      subscribersPerTenantMax: read(
        'LIVE_SUBSCRIBERS_PER_TENANT_MAX',
        defaultLiveLimits.subscribersPerTenantMax,
        int(1, 1e7),
      ),
      subscribersMax: read('LIVE_SUBSCRIBERS_MAX', defaultLiveLimits.subscribersMax, int(1, 1e7)),
    },
    liveAllowedOrigins: read('LIVE_ALLOWED_ORIGINS', [], (raw) =>
      raw.trim() === '*' ? ['*'] : originList(raw),
    ),
  };
  if (config.live.subscribersPerTenantMax > config.live.subscribersMax) {
    problems.push('LIVE_SUBSCRIBERS_PER_TENANT_MAX must not exceed LIVE_SUBSCRIBERS_MAX');
  }
  const mode = resolveAuthMode({
    host: config.host,
    authMode: env.AUTH_MODE,
    allowOpenOnPublic: read('ALLOW_OPEN_ON_PUBLIC', false, bool),
  });
  if (mode.kind === 'refused') problems.push(mode.message);
  else config.authMode = mode.mode;
  if (config.auth.refreshTtlMs < config.auth.accessTtlMs) {
    problems.push('REFRESH_TOKEN_TTL must be at least ACCESS_TOKEN_TTL');
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return config;
}
