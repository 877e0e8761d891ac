// The dashboard's bound on a request to its server: a connection that hangs without closing
// (a proxy that holds it, a link that died, a server stuck) would otherwise leave a read, the
// check of access, a sign-in or a refresh waiting for ever, and with it everything queued
// behind it.

/**
 * How long a read (headers and body) may take before the page gives it up and takes it for no
 * answer. Generous: the server runs 2 reads of a project at once and queues 32 more, so a read
 * may wait behind 16 rounds of others before its own; at QUERY_TIMEOUT's 10 s a round that is
 * under 3 minutes. A read given up is aborted, so it stops costing the server too.
 */
export const READ_TIMEOUT_MS = 180_000;

/**
 * How long a sign-in or a refresh of its access token may take before the page gives it up: a
 * password check (argon2id, well under a second) or a token lookup, and a few SQLite writes,
 * queued behind no read, so 30 s is far above a slow server's answer. The prompt then says so
 * and takes another try; a refresh is sent once more at once (see web/sign-in.ts), and both
 * tries fit in the check of access that waits on them (READ_TIMEOUT_MS).
 */
export const SIGN_IN_TIMEOUT_MS = 30_000;

/** A request given up after its deadline: no answer, as a network failure is none. */
export class ReadTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the server did not answer within ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'ReadTimeout';
  }
}

/**
 * Runs `run` with a signal aborted after `timeoutMs`; rejects with ReadTimeout then, even if
 * `run` waits on something the signal does not reach.
 */
export function withDeadline<T>(
  run: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number = READ_TIMEOUT_MS,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new ReadTimeout(timeoutMs));
    }, timeoutMs);
  });
  return Promise.race([run(controller.signal), expired]).finally(() => clearTimeout(timer));
}
