// Structured logging: one JSON object per line on stdout. Callers pass facts, never bodies or
// secrets; the request logger in http/ decides which request facts are safe to write.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

/**
 * Writes to stdout, dropping a line stdout cannot take: when the log's reader is gone (a pipe to
 * a log shipper that exited: EPIPE), a write throws, and the server, which would have died of
 * its next log line (a request's), goes on without its log. Said once on stderr.
 */
function stdoutLines(out: Pick<NodeJS.WriteStream, 'write' | 'on'> = process.stdout) {
  let failed = false;
  const dropped = (error: unknown) => {
    if (failed) return;
    failed = true;
    try {
      process.stderr.write(`tally: stdout failed (${String(error)}); log lines are dropped\n`);
    } catch {
      // stderr went with it: nothing is left to say it on
    }
  };
  out.on('error', dropped); // a failure reported later than the write
  return (line: string): void => {
    try {
      out.write(line);
    } catch (error) {
      dropped(error);
    }
  };
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = stdoutLines(),
): Logger {
  const min = rank[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < min) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    enabled: (lvl) => rank[lvl] >= min,
  };
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
