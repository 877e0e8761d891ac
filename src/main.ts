// Composition root: reads the config, builds every object, starts timers and the server, and
// hands the stop signals (SIGTERM, SIGINT, SIGHUP) to the ordered shutdown of shutdown.ts.

import type { Database } from 'bun:sqlite';
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
import { type Config, ConfigError, loadSettings } from './config.ts';
import {
  AppError,
  assert,
  createLogger,
  type Logger,
  MiB,
  requestLimits,
  systemClock,
} from './core/index.ts';
import {
  CountryDb,
  type Engine,
  type EngineOptions,
  openEngine,
  RetentionPass,
  startTimers,
} from './engine/index.ts';
import {
  createApp,
  type EarlyListener,
  listenEarly,
  openTenancy,
  startingWaitOf,
} from './http/index.ts';
import { defaultLiveLimits, LiveHub, type LiveLimits, liveSocketSettings } from './live/index.ts';
import {
  createShutdown,
  exitAfterOutput,
  onStopSignals,
  runStep,
  stopWhileStarting,
} from './shutdown.ts';
import { listenError, StartError, startErrorOf } from './start-errors.ts';
import type { FaultHook } from './storage/index.ts';
import { DataDirInUseError, killAt, lockDataDir, logIo } from './storage/index.ts';

/** The store failed while serving (onFatal); a restart recovers from the log. */
const EXIT_FATAL = 70;

/**
 * The largest request body the server lets arrive (Bun's maxRequestBodySize). Each route reads
 * at most its own limit (an ingest batch: requestLimits.bodyBytesMax) and answers a larger body
 * with its JSON 413, and Bun discards the rest as it arrives (none of it is held), so this only
 * bounds what a refused client may send. Past it Bun answers 413 and closes the connection
 * before the body is read; a client that writes its whole body before it reads the answer
 * (Node's fetch, undici) then gets a broken pipe, not the 413: posthog-node, which halves its
 * batch on a 413, took it for a network error and resent the same batch at every flush. 64 MiB
 * holds a posthog-node batch (100 events) of 650 KB an event as sent.
 */
const REQUEST_BODY_BYTES_MAX = 64 * MiB;
assert(
  REQUEST_BODY_BYTES_MAX >= requestLimits.bodyBytesMax * 8,
  "a body well past the routes' limits still gets their 413",
);

/** The configuration, with the GeoIP database GEOIP_DB names opened and checked. */
type Settings = Config & { countries: CountryDb | null };

async function start(config: Settings): Promise<void> {
  const log = createLogger(config.logLevel);
  const geo = config.countries?.info;
  if (geo) log.info('countries from GEOIP_DB', { file: config.geoipDb, ...geo });
  // The lock first: a second process on this DATA_DIR fails here, before it listens.
  let lockedDb: Database;
  try {
    lockedDb = lockDataDir(config.dataDir);
  } catch (error) {
    throw startErrorOf(error, config.dataDir, config.diskFreeBytesMin);
  }
  const liveLimits: LiveLimits = { ...defaultLiveLimits, ...config.live };
  let listener: EarlyListener | undefined;
  // A signal before the store is open (handled from before the listen, so that one right after
  // the `listening` line is never the default exit): nothing was accepted, and the open is as
  // safe to cut as a crash (the next start recovers the same way), so no snapshot is written
  // from a half-open engine.
  let stopping = false;
  const stopStarting = (signal: string) => {
    stopping = true;
    log.info('shutting down while the store opens', { signal });
    void stopWhileStarting(listener?.server, log);
  };
  const offStopStarting = onStopSignals(stopStarting);
  try {
    listener = listenEarly({
      hostname: config.host,
      port: config.port,
      maxRequestBodySize: REQUEST_BODY_BYTES_MAX,
      socket: liveSocketSettings(liveLimits),
      retryAfterSeconds: config.retryAfterSeconds,
      log,
      startingWaitOf: (request) => startingWaitOf(request, config.noRetryWaitMs),
    });
  } catch (error) {
    lockedDb.close();
    throw listenError(config.host, config.port, error);
  }
  const { dataDir, durability, authMode } = config;
  const about = { data_dir: dataDir, durability, auth_mode: authMode };
  log.info('listening', { url: listener.server.url.href, ...about });
  let engine: Engine;
  let opened: Awaited<ReturnType<typeof openAuth>>;
  try {
    engine = await openStore(config, log, lockedDb);
    opened = await openAuth(engine, config);
  } catch (error) {
    // No "starting" answers from a start that failed. A close that fails too is logged; the
    // start's own error is still the one it stops with.
    const server = listener.server;
    await runStep(log, 'close the listener', () => server.stop(true));
    throw error;
  }
  if (stopping) return; // exiting: the open finished while the listener closed
  offStopStarting();
  serve(config, log, listener, engine, opened, liveLimits);
  log.info('ready', { url: listener.server.url.href, ...about });
}

/** Builds the app over the open store, hands it the listener, and starts the timers. */
function serve(
  config: Config,
  log: Logger,
  listener: EarlyListener,
  engine: Engine,
  { auth, bootstrap }: Awaited<ReturnType<typeof openAuth>>,
  liveLimits: LiveLimits,
): void {
  const clock = systemClock;
  let accepting = true;
  let cut = false; // shutdown closed the connections still in flight
  const live = new LiveHub({ source: engine.registry, clock, limits: liveLimits, log });
  const retention = new RetentionPass(engine.store, {
    defaultDays: config.retentionDays,
    projectDays: (tenant) => auth.projects.retentionDaysOf(tenant),
    clock,
    log,
    onDaysDropped: (tenant) => engine.registry.rebuild(tenant),
  });
  const app = createApp({
    engine,
    auth,
    live,
    retention,
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
      noRetryWaitMs: config.noRetryWaitMs,
    },
    isAccepting: () => accepting,
    isCut: () => cut,
  });
  const timers = startTimers(engine, config, log, retention, () => auth.purgeExpired());
  const shutdown = createShutdown({
    server: listener.server,
    engine,
    retention,
    log,
    deadlineMs: config.shutdownDeadlineMs,
    faultCloseDelayMs: config.faultCloseDelayMs,
    stopAccepting: () => {
      accepting = false;
      for (const t of timers) clearInterval(t);
      live.stop(); // closes live sockets (1001), which would otherwise keep the server open
    },
    onCut: () => {
      cut = true;
    },
  });
  onStopSignals(shutdown);
  // Only once the server listens and the store is open, so a start that cannot listen or
  // recover writes and shows no secret; in the turn that hands the listener the app (no request
  // reaches an account route before the admin exists) and before the "ready" line, which tells
  // scripts and tests the file is there.
  if (bootstrap !== null) {
    // A bootstrap.json that cannot be written is one line and exit 2, as at open; its
    // transaction made nothing, so the next start bootstraps again.
    try {
      showBootstrap(commitBootstrap(auth, bootstrap), log);
    } catch (error) {
      throw startErrorOf(error, config.dataDir, config.diskFreeBytesMin);
    }
  }
  listener.serve(app);
  live.start();
}

/** Opens (and recovers) the event store and engine. */
async function openStore(config: Settings, log: Logger, lockedDb: Database): Promise<Engine> {
  const openedAt = performance.now();
  if (config.faultOpenDelayMs > 0) {
    log.warn('fault injection is on: the store opens late', { ms: config.faultOpenDelayMs });
    await Bun.sleep(config.faultOpenDelayMs);
  }
  // A log I/O thread that dies with calls out stops the store (onFatal); one that dies idle
  // fails nothing, the others taking its calls, so only this line tells of it.
  logIo.onLost = (error, left) =>
    log.error('log I/O thread died', { error: error.message, threads_left: left });
  let engine: Engine;
  try {
    engine = await openEngine(engineOptions(config, log, lockedDb));
  } catch (error) {
    throw startErrorOf(error, config.dataDir, config.diskFreeBytesMin);
  }
  log.info('store opened', {
    ms: Math.round(performance.now() - openedAt),
    dedup_keys: engine.dedup.size,
    dedup_bytes: engine.dedup.bytes,
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

/** The engine's options over DATA_DIR, whose tally.sqlite `lockedDb` this process holds. */
function engineOptions(config: Settings, log: Logger, lockedDb: Database): EngineOptions {
  return {
    ...config,
    lockedDb,
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
      // Not only the log's own failure: a flush, a deletion's purge, an erasure's cut or a
      // commit's hot-tier add that failed after its decision (`error` says which).
      log.error('the store failed; exiting so a restart can recover from the log', {
        error: String(error),
      });
      // Whatever is acknowledged until the exit is in the log, which the restart replays; the
      // line explaining the exit goes out first.
      void exitAfterOutput(EXIT_FATAL);
    },
  };
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

/** FAULT_POINT (tests only): SIGKILL this process when the named step is reached. */
function faultHook(config: Config, log: Logger): FaultHook | undefined {
  const target = config.faultPoint;
  if (target === null) return undefined;
  log.warn('fault injection is on: this process will kill itself', { fault_point: target });
  return killAt(target);
}

try {
  await start(loadSettings((file) => CountryDb.open(file)));
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
