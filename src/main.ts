// Composition root: reads the config, builds every object, starts timers and the server, and
// handles signals with an ordered shutdown: stop accepting → finish in-flight commits → close
// the stores → exit, forced after the deadline.

import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger, systemClock } from './core/index.ts';
import { Ingestor } from './engine/index.ts';
import { createApp } from './http/index.ts';

const DEDUP_EXPIRY_INTERVAL_MS = 60_000;
const EXIT_FATAL = 70;

function start(config: Config): void {
  const log = createLogger(config.logLevel);
  const clock = systemClock;
  let accepting = true;
  const openedAt = performance.now();
  const ingestor = new Ingestor({
    ...config,
    clock,
    onFatal: (error) => {
      log.error('write-ahead log failed; exiting so a restart can recover from the log', {
        error: String(error),
      });
      process.exit(EXIT_FATAL);
    },
  });
  log.info('store opened', { ...ingestor.stats(), ms: Math.round(performance.now() - openedAt) });

  const app = createApp({
    ingestor,
    clock,
    log,
    options: {
      storeIp: config.storeIp,
      trustProxy: config.trustProxy,
      retryAfterSeconds: config.retryAfterSeconds,
    },
    isAccepting: () => accepting,
  });
  const expiry = setInterval(() => ingestor.expireDedup(), DEDUP_EXPIRY_INTERVAL_MS);
  const shutdown = (signal: string) => {
    if (!accepting) return;
    accepting = false;
    log.info('shutting down', { signal });
    clearInterval(expiry);
    const force = setTimeout(() => {
      log.error('shutdown deadline passed; exiting', { deadline_ms: config.shutdownDeadlineMs });
      process.exit(1);
    }, config.shutdownDeadlineMs);
    void stopInOrder(app, ingestor, log).then(() => {
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  app.listen({ hostname: config.host, port: config.port });
  const server = app.server;
  if (server === null) throw new Error('the HTTP server did not start');
  log.info('listening', {
    url: server.url.href,
    data_dir: config.dataDir,
    durability: config.durability,
  });
}

async function stopInOrder(
  app: { server: { stop(closeActive?: boolean): unknown } | null },
  ingestor: Ingestor,
  log: Logger,
): Promise<void> {
  // Stop taking connections; requests already read finish, and their commits are awaited.
  void app.server?.stop(false);
  await ingestor.close();
  log.info('stopped', {});
}

try {
  start(loadConfig());
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`tally: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
