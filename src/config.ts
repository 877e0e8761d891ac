// The only reader of the environment. Typed defaults, environment overrides, validated at start:
// a bad value stops the process with a message naming the variable, the value and the rule.

import * as path from 'node:path';
import {
  type AuthMode,
  type AuthOptions,
  BOUND_SETTINGS,
  defaultAuthOptions,
  type ProjectBounds,
  resolveAuthMode,
} from './auth/index.ts';
import {
  bool,
  bytes,
  dedupWindow,
  durationFrom,
  durationIn,
  type Env,
  EnvReader,
  email,
  host,
  int,
  oneOf,
  originList,
  retentionDays,
  SPAN_MS_MAX,
  text,
} from './config-values.ts';
import {
  defaultTunables,
  LOG_LEVELS,
  type LogLevel,
  noRetryWaitLimits,
  type Tunables,
} from './core/index.ts';
import {
  defaultLiveLimits,
  HEARTBEAT_INTERVAL_MS_MAX,
  type LiveLimits,
  liveMessageBytesMax,
} from './live/index.ts';
import { ALL_FAULT_POINTS, type Durability, type FaultPoint } from './storage/index.ts';

export interface Config extends Tunables {
  host: string;
  port: number;
  dataDir: string;
  logLevel: LogLevel;
  durability: Durability;
  storeIp: boolean;
  /** A GeoIP database (.mmdb) to derive each event's country from; null: no countries. */
  geoipDb: string | null;
  trustProxy: boolean;
  /** How long a request of Umami's or Plausible's (never resent) waits for room; 0: never. */
  noRetryWaitMs: number;
  /** Distinct event names and paths each tenant's live rollups track before "(other)". */
  rollupNamesMax: number;
  rollupPathsMax: number;
  /** Tests only: the flush/compaction step at which the process kills itself. */
  faultPoint: FaultPoint | null;
  /** Tests only: how long the store's open, and the stores' close at shutdown, wait first. */
  faultOpenDelayMs: number;
  faultCloseDelayMs: number;
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
    | 'wsBufferedBytesTotalMax'
    | 'subscribersPerTenantMax'
    | 'subscribersMax'
  >;
  /** Origins allowed to open live WebSockets besides the server's own (`*`: any). */
  liveAllowedOrigins: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The configuration `env` gives, GEOIP_DB not opened (tests; main.ts calls loadSettings). */
export function loadConfig(env: Env = Bun.env): Config {
  const r = new EnvReader(env);
  const config = readConfig(r);
  refuseProblems(r.problems);
  return config;
}

/**
 * The configuration, with the GeoIP database GEOIP_DB names opened by `openGeoipDb` (main.ts
 * passes the engine's CountryDb.open, which throws saying what is wrong with the file). A file
 * that cannot be used is refused together with every other bad setting, not alone on the run
 * after they are fixed.
 */
export function loadSettings<T>(
  openGeoipDb: (file: string) => T,
  env: Env = Bun.env,
): Config & { countries: T | null } {
  const r = new EnvReader(env);
  const config = readConfig(r);
  let countries: T | null = null;
  if (config.geoipDb !== null) {
    try {
      countries = openGeoipDb(config.geoipDb);
    } catch (error) {
      const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      r.problems.push(`GEOIP_DB=${JSON.stringify(config.geoipDb)}: ${why}`);
    }
  }
  refuseProblems(r.problems);
  return { ...config, countries };
}

function refuseProblems(problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Every setting; a refused value is one of `r.problems`, and its default stands in. */
function readConfig(r: EnvReader): Config {
  const server = readServer(r);
  const auth = readAuth(r);
  const config: Config = {
    ...server,
    ...readStorage(r),
    ...readLimits(r),
    ...auth,
    authMode: 'open',
    live: readLive(r),
    liveAllowedOrigins: r.read('LIVE_ALLOWED_ORIGINS', [], (raw) =>
      raw.trim() === '*' ? ['*'] : originList(raw),
    ),
  };
  const mode = resolveAuthMode({
    host: server.host,
    authMode: r.env.AUTH_MODE,
    allowOpenOnPublic: r.read('ALLOW_OPEN_ON_PUBLIC', false, bool),
  });
  if (mode.kind === 'refused') r.problems.push(mode.message);
  else config.authMode = mode.mode;
  // Each relation names the values in effect, and which are defaults: setting one side alone
  // (LIVE_SUBSCRIBERS_MAX=1000) is refused for the other's default, which the operator never set.
  const is = (name: string, value: number, unit = '') =>
    `${name} is ${value}${unit}${r.env[name]?.trim() ? '' : ' (its default)'}`;
  const relation = (rule: string, a: string, b: string) => r.problems.push(`${rule}: ${a}, ${b}`);
  const { live } = config;
  if (live.subscribersPerTenantMax > live.subscribersMax) {
    relation(
      'LIVE_SUBSCRIBERS_PER_TENANT_MAX must not exceed LIVE_SUBSCRIBERS_MAX',
      is('LIVE_SUBSCRIBERS_PER_TENANT_MAX', live.subscribersPerTenantMax),
      is('LIVE_SUBSCRIBERS_MAX', live.subscribersMax),
    );
  }
  if (live.wsBufferedBytesMax > live.wsBufferedBytesTotalMax) {
    relation(
      'LIVE_WS_BUFFERED_BYTES_MAX must not exceed LIVE_WS_BUFFERED_BYTES_TOTAL_MAX',
      is('LIVE_WS_BUFFERED_BYTES_MAX', live.wsBufferedBytesMax),
      is('LIVE_WS_BUFFERED_BYTES_TOTAL_MAX', live.wsBufferedBytesTotalMax),
    );
  }
  // As for bytes (tenantShareLimits): one tenant filling its mailbox leaves half the commit
  // queue to the others, so a flood is that tenant's 429, not every tenant's 503.
  if (config.mailboxEventsMax * 2 > config.commitQueueEventsMax) {
    relation(
      'MAILBOX_EVENTS_MAX must be at most half of COMMIT_QUEUE_EVENTS_MAX',
      is('MAILBOX_EVENTS_MAX', config.mailboxEventsMax),
      is('COMMIT_QUEUE_EVENTS_MAX', config.commitQueueEventsMax),
    );
  }
  // Flushing must start well before ingest is refused for memory, or every ingest would be
  // 503 until the flush interval comes round.
  if (config.flushHotBytes * 2 > config.hotBytesMax) {
    relation(
      'FLUSH_HOT_BYTES must be at most half of HOT_BYTES_MAX',
      is('FLUSH_HOT_BYTES', config.flushHotBytes),
      is('HOT_BYTES_MAX', config.hotBytesMax),
    );
  }
  if (config.auth.refreshTtlMs < config.auth.accessTtlMs) {
    relation(
      'REFRESH_TOKEN_TTL must be at least ACCESS_TOKEN_TTL',
      is('REFRESH_TOKEN_TTL', config.auth.refreshTtlMs, 'ms'),
      is('ACCESS_TOKEN_TTL', config.auth.accessTtlMs, 'ms'),
    );
  }
  return config;
}

function readServer(r: EnvReader) {
  return {
    host: r.read('HOST', '127.0.0.1', host),
    port: r.read('PORT', 8080, int(0, 65535)),
    logLevel: r.read<LogLevel>('LOG_LEVEL', 'info', oneOf(LOG_LEVELS)),
    trustProxy: r.read('TRUST_PROXY', false, bool),
    shutdownDeadlineMs: r.read(
      'SHUTDOWN_DEADLINE',
      defaultTunables.shutdownDeadlineMs,
      durationFrom(100),
    ),
    retryAfterSeconds: r.read(
      'RETRY_AFTER_SECONDS',
      defaultTunables.retryAfterSeconds,
      int(1, 3600),
    ),
    queryTimeoutMs: r.read('QUERY_TIMEOUT', defaultTunables.queryTimeoutMs, durationFrom(10)),
    queryRowsMax: r.read('QUERY_ROWS_MAX', defaultTunables.queryRowsMax, int(1, 1e7)),
    // 0 (off) is a value here, not a spinning timer: a wait of 0 never waits.
    noRetryWaitMs: r.read(
      'NO_RETRY_WAIT',
      noRetryWaitLimits.waitMsDefault,
      durationIn(0, noRetryWaitLimits.waitMsMax),
    ),
    faultPoint: r.read<FaultPoint | null>('FAULT_POINT', null, oneOf(ALL_FAULT_POINTS)),
    faultOpenDelayMs: r.read('FAULT_OPEN_DELAY', 0, durationFrom(0)),
    faultCloseDelayMs: r.read('FAULT_CLOSE_DELAY', 0, durationFrom(0)),
  };
}

function readStorage(r: EnvReader) {
  const d = defaultTunables;
  return {
    dataDir: path.resolve(r.read('DATA_DIR', './data', text)),
    durability: r.read<Durability>('DURABILITY', 'fsync', oneOf(['fsync', 'os'] as const)),
    storeIp: r.read('STORE_IP', false, bool),
    // Opened and checked at start (loadSettings, with main.ts's engine CountryDb.open).
    geoipDb: r.read<string | null>('GEOIP_DB', null, (raw) => path.resolve(raw)),
    dedupWindowMs: r.read('DEDUP_WINDOW', d.dedupWindowMs, dedupWindow),
    retentionDays: r.read('RETENTION_DAYS', d.retentionDays, retentionDays),
    // At least a full batch (5,000 events): a request of more new ids than the index may hold
    // was refused 503 "the deduplication index is full" on an empty index, and again on every
    // retry, for ever.
    dedupKeysMax: r.read('DEDUP_KEYS_MAX', d.dedupKeysMax, int(5000, 2 ** 28)),
    walFileBytesMax: r.read('WAL_FILE_BYTES_MAX', d.walFileBytesMax, bytes(1 << 20, 2 ** 32)),
    diskFreeBytesMin: r.read('DISK_FREE_BYTES_MIN', d.diskFreeBytesMin, bytes(0, 2 ** 50)),
    flushIntervalMs: r.read('FLUSH_INTERVAL', d.flushIntervalMs, durationFrom(50)),
    flushHotBytes: r.read('FLUSH_HOT_BYTES', d.flushHotBytes, bytes(1 << 20, 2 ** 40)),
    compactIntervalMs: r.read('COMPACT_INTERVAL', d.compactIntervalMs, durationFrom(100)),
    compactSegmentsMin: r.read('COMPACT_SEGMENTS_MIN', d.compactSegmentsMin, int(2, 1e6)),
    compactRowsMax: r.read('COMPACT_ROWS_MAX', d.compactRowsMax, int(2, 1e9)),
    smallSegmentBytesMax: r.read(
      'SMALL_SEGMENT_BYTES_MAX',
      d.smallSegmentBytesMax,
      bytes(1, 2 ** 40),
    ),
    duckdbMemoryBytesMax: r.read(
      'DUCKDB_MEMORY_BYTES_MAX',
      d.duckdbMemoryBytesMax,
      bytes(64 << 20, 2 ** 45),
    ),
    duckdbThreads: r.read('DUCKDB_THREADS', d.duckdbThreads, int(1, 256)),
  };
}

function readLimits(r: EnvReader) {
  const d = defaultTunables;
  return {
    commitQueueEventsMax: r.read('COMMIT_QUEUE_EVENTS_MAX', d.commitQueueEventsMax, int(1, 1e7)),
    commitQueueBytesMax: r.read('COMMIT_QUEUE_BYTES_MAX', d.commitQueueBytesMax, bytes(1, 2 ** 40)),
    hotBytesMax: r.read('HOT_BYTES_MAX', d.hotBytesMax, bytes(1, 2 ** 40)),
    mailboxEventsMax: r.read('MAILBOX_EVENTS_MAX', d.mailboxEventsMax, int(5000, 1e8)),
    actorsMax: r.read('ACTORS_MAX', d.actorsMax, int(1, 1e7)),
    actorIdleMs: r.read('ACTOR_IDLE', d.actorIdleMs, durationFrom(1000)),
    rollupBytesMax: r.read('ROLLUP_BYTES_MAX', d.rollupBytesMax, bytes(16 * 2 ** 20, 2 ** 40)),
    rollupNamesMax: r.read('ROLLUP_NAMES_MAX', 1000, int(10, 1e6)),
    rollupPathsMax: r.read('ROLLUP_PATHS_MAX', 1000, int(10, 1e6)),
  };
}

/** A token lifetime: 10 s at least (a client must get to use its token), ten years at most. */
const tokenTtl = durationFrom(10_000, SPAN_MS_MAX);

function readAuth(r: EnvReader) {
  const rate = (prefix: string, perSecond: number, burst: number) => ({
    perSecond: r.read(`${prefix}_PER_SECOND`, perSecond, int(1, 1e9)),
    burst: r.read(`${prefix}_BURST`, burst, int(1, 1e9)),
  });
  const perMinute = (name: string, fallback: number) => {
    const n = r.read(name, fallback, int(1, 1e6));
    return { perSecond: n / 60, burst: n };
  };
  const perHour = (name: string, fallback: number) => {
    const n = r.read(name, fallback, int(1, 1e6));
    return { perSecond: n / 3600, burst: n };
  };
  const registration = r.read('REGISTRATION', 'open', oneOf(['open', 'closed'] as const));
  const d = defaultAuthOptions;
  const createPerHour = Math.round(d.rates.projectCreate.perSecond * 3600);
  return {
    auth: {
      accessTtlMs: r.read('ACCESS_TOKEN_TTL', 15 * 60_000, tokenTtl),
      // Never shorter than ACCESS_TOKEN_TTL (checked below): 0 is no "forever" here.
      refreshTtlMs: r.read('REFRESH_TOKEN_TTL', 30 * 86_400_000, tokenTtl),
      signingKeyRotateMs: r.read(
        'SIGNING_KEY_ROTATE',
        30 * 86_400_000,
        durationFrom(60_000, SPAN_MS_MAX),
      ),
      invitationTtlMs: r.read(
        'INVITATION_TTL',
        d.invitationTtlMs,
        durationFrom(60_000, SPAN_MS_MAX),
      ),
      registrationOpen: registration === 'open',
      rates: {
        write: rate('RATE_WRITE', 1000, 2000),
        read: rate('RATE_READ', 20, 100),
        loginEmail: perMinute('LOGIN_PER_EMAIL_PER_MINUTE', 5),
        loginIp: perMinute('LOGIN_PER_IP_PER_MINUTE', 30),
        registerIp: perHour('REGISTER_PER_IP_PER_HOUR', 20),
        projectCreate: {
          perSecond: r.read('PROJECT_CREATE_PER_HOUR', createPerHour, int(1, 1e6)) / 3600,
          burst: r.read('PROJECT_CREATE_BURST', d.rates.projectCreate.burst, int(1, 1e6)),
        },
      },
      bounds: readBounds(r),
      rateKeysMax: r.read('RATE_LIMIT_KEYS_MAX', 100_000, int(1, 1e7)),
    },
    corsOrigins: r.read('CORS_ORIGINS', [], originList),
    bootstrapAdminEmail: r.read('BOOTSTRAP_ADMIN_EMAIL', 'admin@tally.local', email),
  };
}

/**
 * The bounds on projects, keys, aliases and members, each from the setting its 409 names
 * (BOUND_SETTINGS), so the variable read and the one the error tells an operator to raise are
 * one name.
 */
function readBounds(r: EnvReader): ProjectBounds {
  const bounds = { ...defaultAuthOptions.bounds };
  for (const field of Object.keys(BOUND_SETTINGS) as (keyof ProjectBounds)[]) {
    bounds[field] = r.read(BOUND_SETTINGS[field], bounds[field], int(1, 1e6));
  }
  return bounds;
}

function readLive(r: EnvReader): Config['live'] {
  const d = defaultLiveLimits;
  return {
    pushIntervalMs: r.read('LIVE_PUSH_INTERVAL', d.pushIntervalMs, durationIn(25, 1000)),
    heartbeatIntervalMs: r.read(
      'LIVE_HEARTBEAT_INTERVAL',
      d.heartbeatIntervalMs,
      durationIn(2_000, HEARTBEAT_INTERVAL_MS_MAX),
    ),
    wsBufferedBytesMax: r.read(
      'LIVE_WS_BUFFERED_BYTES_MAX',
      d.wsBufferedBytesMax,
      bytes(
        liveMessageBytesMax(d),
        16 * 1024 * 1024 - 1,
        'at least the largest message a live socket is sent (a snapshot with a names filter ' +
          'at its limits), so that one whole message never makes a reader a slow consumer',
      ),
    ),
    wsBufferedBytesTotalMax: r.read(
      'LIVE_WS_BUFFERED_BYTES_TOTAL_MAX',
      d.wsBufferedBytesTotalMax,
      bytes(liveMessageBytesMax(d), 2 ** 40),
    ),
    subscribersPerTenantMax: r.read(
      'LIVE_SUBSCRIBERS_PER_TENANT_MAX',
      d.subscribersPerTenantMax,
      int(1, 1e7),
    ),
    subscribersMax: r.read('LIVE_SUBSCRIBERS_MAX', d.subscribersMax, int(1, 1e7)),
  };
}
