// The signals that stop the server cleanly (shutdown.ts), and that its SQL statements' processes
// leave to it (sql-child.ts). SIGHUP too: the terminal or ssh session it runs in closed, or a
// process manager stops it so; its default was an exit with no shutdown at all (Tally has no
// configuration to reload on it).

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];
