// Composition root: reads the config, builds every object, starts timers and the server, and
// handles signals with an ordered shutdown: stop accepting → answer the requests in flight →
// close every connection → finish in-flight commits → close the stores → exit, forced after the
// deadline (or at once on a second signal).

import {
  type Auth,
  type BootstrapResult,
  commitBootstrap,
  createAuth,
  formatBootstrapBanner,
  type PreparedBootstrap,
  prepareBootstrap,
  storedEventsProbe,
} from './auth/index.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import {
  AppError,
  assert,
  createLogger,
  type Logger,
  MiB,
  requestLimits,
  systemClock,
} from './core/index.ts';
import { type Engine, openEngine } from './engine/index.ts';
import { createApp, openTenancy } from './http/index.ts';
import { defaultLiveLimits, LiveHub, type LiveLimits, liveSocketSettings } from './live/index.ts';
import type { FaultHook } from './storage/index.ts';
import { DataDirInUseError, isUnusableStore, killAt, lowSpaceNote } from './storage/index.ts';

const DEDUP_EXPIRY_INTERVAL_MS = 60_000;
/** How often the live rollups' memory is held to ROLLUP_BYTES_MAX. */
const ROLLUP_BUDGET_INTERVAL_MS = 5_000;
const FLUSH_CHECK_INTERVAL_MS = 250;
const AUTH_PURGE_INTERVAL_MS = 60_000;
const EXIT_FATAL = 70;
/** How long an exit waits for the last log lines to leave stdout at most. */
const OUTPUT_WAIT_MS_MAX = 1000;
/** A shutdown cut short (a second signal, or the deadline passed); the log makes a restart safe. */
const EXIT_INTERRUPTED = 1;
/**
 * Errors of a data directory the process cannot use: permissions, missing, read-only, a file
 * where the directory should be (EEXIST from mkdir), a full disk or quota.
 */
const DATA_DIR_ERRORS = new Set(
  'EACCES EPERM ENOENT ENOTDIR EROFS EEXIST ENOSPC EDQUOT'.split(' '),
);
/**
 * SQLite's codes for a tally.sqlite it cannot use: a full disk (SQLITE_FULL, or an extended
 * SQLITE_IOERR such as SQLITE_IOERR_SHMSIZE for its shared-memory file), a file that is not a
 * database or is damaged, one it cannot open or write.
 */
const SQLITE_FILE_ERRORS = /^SQLITE_(FULL|IOERR|NOTADB|CORRUPT|CANTOPEN|READONLY)/;
/** How often shutdown looks whether the requests in flight have been answered. */
const SHUTDOWN_POLL_INTERVAL_MS = 10;
/**
 * The share of SHUTDOWN_DEADLINE the requests in flight at the signal get to be answered. What
 * still runs then (a long statement, a body still arriving) is cut: the rest of the deadline is
 * for closing the stores, which first finish a running flush or compaction.
 */
const SHUTDOWN_REQUESTS_SHARE = 3 / 4;
/**
 * Once no request is in flight, how long connections get to close by themselves (the last
 * responses finish writing) before the rest are closed: those that sent half a request, which
 * Bun does not count as in flight and would wait on for good.
 */
const SHUTDOWN_CLOSE_GRACE_MS = 200;

/** A start that cannot go on for a reason the operator must fix: a message and exit 2. */
class StartError extends Error {
  override name = 'StartError';
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
/**
 * Room above the largest body a route accepts (an ingest batch of requestLimits.bodyBytesMax):
 * a gzip body of incompressible data is a little larger than its content (~5 bytes per 64 KiB
 * block plus 18), and the routes answer bodies up to this margin past the limit with their own
 * 413. Past it, Bun refuses the body itself (413, empty body, connection closed).
 */
const BODY_BYTES_MARGIN = 1 * MiB;
const REQUEST_BODY_BYTES_MAX = requestLimits.bodyBytesMax + BODY_BYTES_MARGIN;
assert(
  BODY_BYTES_MARGIN >= requestLimits.bodyBytesMax / 1000,
  'the margin covers gzip framing of an incompressible body',
);

async function start(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const clock = systemClock;
  let accepting = true;
  const engine = await openStore(config, log);
  const { auth, bootstrap } = await openAuth(engine, config);
  const liveLimits: LiveLimits = { ...defaultLiveLimits, ...config.live };
  const live = new LiveHub({ source: engine.registry, clock, limits: liveLimits, log });
  const app = createApp({
    engine,
    auth,
    live,
    tenancy: config.authMode === 'required' ? auth.tenancy : openTenancy,
    clock,
    log,
    options: {
      trustProxy: config.trustProxy,
      retryAfterSeconds: config.retryAfterSeconds,
      queryTimeoutMs: config.queryTimeoutMs,
      queryRowsMax: config.queryRowsMax,
      corsOrigins: config.corsOrigins,
      liveAllowedOrigins: config.liveAllowedOrigins,
    },
    isAccepting: () => accepting,
  });
  const timers = startTimers(engine, config, log);
  timers.push(setInterval(() => auth.purgeExpired(), AUTH_PURGE_INTERVAL_MS));
  const shutdown = (signal: string) => {
    if (!accepting) {
      log.error('second signal during shutdown; exiting now, a restart recovers from the log', {
        signal,
      });
      void exitAfterOutput(EXIT_INTERRUPTED);
      return;
    }
    accepting = false;
    log.info('shutting down', { signal });
    for (const t of timers) clearInterval(t);
    const force = setTimeout(() => {
      log.error('shutdown deadline passed; exiting', { deadline_ms: config.shutdownDeadlineMs });
      void exitAfterOutput(EXIT_INTERRUPTED);
    }, config.shutdownDeadlineMs);
    live.stop(); // closes live sockets (1001), which would otherwise keep the server open
    const requestsWaitMs = config.shutdownDeadlineMs * SHUTDOWN_REQUESTS_SHARE;
    void stopInOrder(app.server, engine, log, requestsWaitMs).then(() => {
      clearTimeout(force);
      return exitAfterOutput(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    app.listen({
      hostname: config.host,
      port: config.port,
      maxRequestBodySize: REQUEST_BODY_BYTES_MAX,
      // Elysia asks Bun for SO_REUSEPORT, which lets a second server bind the same port and
      // take half of its connections: a port in use must be an error.
      reusePort: false,
      websocket: liveSocketSettings(liveLimits),
    });
  } catch (error) {
    throw new StartError(`cannot listen on ${config.host}:${config.port}: ${firstLine(error)}`);
  }
  const server = app.server;
  if (server === null) throw new Error('the HTTP server did not start');
  // Only once the server listens, so a start that cannot listen writes and shows no secret; in
  // the turn of the listen (no request runs before the admin exists) and before the
  // "listening" line, which tells scripts and tests the file is there.
  if (bootstrap !== null) showBootstrap(commitBootstrap(auth, bootstrap), log);
  const { dataDir, durability, authMode } = config;
  log.info('listening', {
    url: server.url.href,
    data_dir: dataDir,
    durability,
    auth_mode: authMode,
  });
  live.start();
}

/** Opens (and recovers) the event store and engine. */
async function openStore(config: Config, log: Logger): Promise<Engine> {
  const openedAt = performance.now();
  const engine = await openEngineIn(config, log);
  log.info('store opened', {
    ms: Math.round(performance.now() - openedAt),
    dedup_keys: engine.dedup.size,
    last_seq: engine.store.lastSeq,
  });
  const damage = engine.store.logDamage;
  if (damage !== null) {
    // A torn tail is what a crash leaves (warn); records after the damage are not (error).
    const level = damage.framesAfter > 0 ? 'error' : 'warn';
    log[level]('write-ahead log cut at its first invalid record', {
      file: damage.file,
      offset: damage.offset,
      reason: damage.reason,
      bytes_cut: damage.bytes,
      valid_records_after: damage.framesAfter,
      kept_in: damage.savedAs,
    });
  }
  return engine;
}

/** The engine over DATA_DIR; a directory that cannot be used is a message, not a trace. */
async function openEngineIn(config: Config, log: Logger): Promise<Engine> {
  try {
    return await openEngine({
      ...config,
      clock: systemClock,
      log,
      fault: faultHook(config, log),
      rollupLimits: { namesMax: config.rollupNamesMax, pathsMax: config.rollupPathsMax },
      onDedupShortened: (droppedKeys, rememberedSince) => {
        log.warn('deduplication index full: oldest event_ids forgotten early', {
          dedup_keys_max: config.dedupKeysMax,
          forgotten: droppedKeys,
          exact_once_since: new Date(rememberedSince).toISOString(),
        });
      },
      onRebuildError: (tenant, error) => {
        log.error('live counters of a tenant could not be rebuilt; ingest goes on', {
          tenant,
          error: String(error),
        });
      },
      onDiskFull: (error) => log.error('disk full: ingest refused (503)', { error: error.message }),
      onDiskRoom: () => log.info('the disk has room again: ingest resumes', {}),
      onFatal: (error) => {
        log.error('write-ahead log failed; exiting so a restart can recover from the log', {
          error: String(error),
        });
        // The failed log acknowledges nothing more, so the line explaining the exit may go out.
        void exitAfterOutput(EXIT_FATAL);
      },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const at = `cannot use DATA_DIR ${config.dataDir}`;
    if (isUnusableStore(error)) throw new StartError(`${at}: ${error.message}`);
    if (typeof code !== 'string') throw error;
    const low = lowSpaceNote(config.dataDir, config.diskFreeBytesMin);
    if (DATA_DIR_ERRORS.has(code)) throw new StartError(`${at}: ${firstLine(error)}${low}`);
    if (SQLITE_FILE_ERRORS.test(code)) {
      throw new StartError(`${at}: tally.sqlite: ${firstLine(error)} (${code})${low}`);
    }
    throw error;
  }
}

/**
 * Users and keys; in required mode, a start with no admin prepares one (and a project), made
 * by `commitBootstrap` once the server listens.
 */
async function openAuth(
  engine: Engine,
  config: Config,
): Promise<{ auth: Auth; bootstrap: PreparedBootstrap | null }> {
  const auth = createAuth({
    db: engine.store.sqlite,
    clock: systemClock,
    options: config.auth,
    tenantHoldsEvents: storedEventsProbe(engine.store),
  });
  if (config.authMode !== 'required') return { auth, bootstrap: null };
  const bootstrap = await prepareBootstrap(auth, {
    dataDir: config.dataDir,
    adminEmail: config.bootstrapAdminEmail,
  }).catch((error: unknown) => {
    // A setting the operator must change (the admin email is taken): a message, not a trace.
    if (error instanceof AppError && error.code === 'conflict') {
      throw new ConfigError(error.message);
    }
    throw error;
  });
  return { auth, bootstrap };
}

function showBootstrap(boot: BootstrapResult | null, log: Logger): void {
  if (boot === null) return;
  // Shown once, on the terminal only; the log line names the file, never the secrets.
  process.stderr.write(formatBootstrapBanner(boot));
  log.info('bootstrap credentials written', { file: boot.file });
}

/** Background work: flushing, compaction, dedup expiry, actor eviction. */
function startTimers(
  engine: Engine,
  config: Config,
  log: Logger,
): ReturnType<typeof setInterval>[] {
  const { store } = engine;
  let lastFlushAt = performance.now();
  const background = (what: string, work: () => Promise<unknown>) => {
    work().catch((error) => {
      // A failed flush or compaction leaves everything in the log; it is retried next time.
      log.error(`${what} failed`, { error: String(error) });
    });
  };
  return [
    setInterval(
      () => {
        const due = performance.now() - lastFlushAt >= config.flushIntervalMs;
        if (!due && store.hot.bytes < config.flushHotBytes) return;
        lastFlushAt = performance.now();
        background('flush', () => store.flusher.flush());
      },
      Math.min(FLUSH_CHECK_INTERVAL_MS, config.flushIntervalMs),
    ),
    setInterval(
      () => background('compaction', () => store.compactor.compact()),
      config.compactIntervalMs,
    ),
    setInterval(() => {
      engine.dedup.expire(Date.now());
      engine.registry.evictIdle();
    }, DEDUP_EXPIRY_INTERVAL_MS),
    setInterval(() => {
      const { bytes, evicted } = engine.registry.fitBudget();
      if (evicted > 0) {
        log.info('live rollups over ROLLUP_BYTES_MAX: least active tenants evicted', {
          evicted,
          rollup_bytes: bytes,
        });
      }
    }, ROLLUP_BUDGET_INTERVAL_MS),
  ];
}

/** FAULT_POINT (tests only): SIGKILL this process when the named step is reached. */
function faultHook(config: Config, log: Logger): FaultHook | undefined {
  const target = config.faultPoint;
  if (target === null) return undefined;
  log.warn('fault injection is on: this process will kill itself', { fault_point: target });
  return killAt(target);
}

/** What shutdown needs of the HTTP server (Bun's Server). */
interface StoppableServer {
  readonly pendingRequests: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

async function stopInOrder(
  server: StoppableServer | null,
  engine: Engine,
  log: Logger,
  requestsWaitMs: number,
): Promise<void> {
  if (server !== null) await stopServer(server, log, requestsWaitMs);
  // Commits of requests cut above still finish: the log stays whole either way.
  await engine.close();
  log.info('stopped', {});
}

/**
 * Stops taking connections, waits (up to `requestsWaitMs`) for the requests already read to be
 * answered (their commits, a running SQL statement), then closes every connection left.
 */
async function stopServer(
  server: StoppableServer,
  log: Logger,
  requestsWaitMs: number,
): Promise<void> {
  const until = performance.now() + requestsWaitMs;
  // Resolves once every connection closed; one that sent half a request holds it for good.
  const closed = server.stop(false);
  while (server.pendingRequests > 0 && performance.now() < until) {
    await Bun.sleep(SHUTDOWN_POLL_INTERVAL_MS);
  }
  if (server.pendingRequests > 0) {
    log.warn('requests still running at their share of the shutdown deadline are cut', {
      requests: server.pendingRequests,
    });
  }
  const graceMs = Math.max(0, Math.min(SHUTDOWN_CLOSE_GRACE_MS, until - performance.now()));
  await Promise.race([closed, Bun.sleep(graceMs)]);
  await server.stop(true);
}

/**
 * Exits once the last lines are out: request-log lines are written by after-response hooks,
 * which run on a later turn than the response, and stdout to a pipe may still hold some. A
 * stdout nobody reads never holds the exit past OUTPUT_WAIT_MS_MAX.
 */
async function exitAfterOutput(code: number): Promise<never> {
  const flushed = (async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => process.stdout.write('', resolve));
  })();
  await Promise.race([flushed, Bun.sleep(OUTPUT_WAIT_MS_MAX)]);
  process.exit(code);
}

try {
  await start(loadConfig());
} catch (error) {
  if (
    error instanceof ConfigError ||
    error instanceof DataDirInUseError ||
    error instanceof StartError
  ) {
    process.stderr.write(`tally: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
