// Password hashing with Bun.password (argon2id, salted, parameters stored in the hash). A login
// for an unknown email still verifies against a dummy hash, so both cost the same time.
// Each hash takes ~64 MiB and ~0.1 s of a core, for anyone who can reach a login: at most
// `runningMax` run at once and `waitingMax` wait, so logins from many addresses can neither
// take every core from ingest and reads nor queue without end (503 with Retry-After beyond).

import { AppError } from '../core/index.ts';

export interface PasswordCost {
  /** argon2 memory in KiB (Bun's default: 65536). */
  memoryCost: number;
  /** argon2 iterations (Bun's default: 2). */
  timeCost: number;
}

export const defaultPasswordCost: PasswordCost = { memoryCost: 65536, timeCost: 2 };

/** How many password hashes (logins, registrations, password changes) run and wait at once. */
export interface PasswordHashLimits {
  /** Hashes computed at once: one core's worth, whatever the load. */
  runningMax: number;
  /** Hashes waiting for a place (~0.1 s each); past it the request is refused, 503. */
  waitingMax: number;
}

export const defaultPasswordHashLimits: PasswordHashLimits = { runningMax: 1, waitingMax: 32 };

export class PasswordHasher {
  private dummy: Promise<string> | null = null;
  private running = 0;
  /** Each waiting hash's turn, called with the place the hash that finished hands over. */
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly cost: PasswordCost,
    private readonly limits: PasswordHashLimits = defaultPasswordHashLimits,
  ) {}

  /**
   * 503 (`overloaded`) when a hash asked for now would find no place to run or wait. Callers
   * ask before they spend a rate limit, then hash with nothing awaited in between.
   */
  requireRoom(): void {
    const { runningMax, waitingMax } = this.limits;
    if (this.running < runningMax || this.waiting.length < waitingMax) return;
    throw new AppError(
      'overloaded',
      `${runningMax + waitingMax} password checks are running or waiting (the most the ` +
        'server takes at once); retry later',
    );
  }

  hash(password: string): Promise<string> {
    return this.gated(() => this.hashNow(password));
  }

  /** Verifies against `hash`, or against a dummy when there is no user (same time, false). */
  verify(password: string, hash: string | null): Promise<boolean> {
    return this.gated(() => this.verifyNow(password, hash));
  }

  /**
   * Verifies `password` against `hash` (as verify) and, when it holds, hashes `next` in the
   * same place: one wait, so a password change whose check passed (and spent its rate) is
   * never refused for room before its new hash. `next` is undefined when the check is all.
   */
  verifyThenHash(
    password: string,
    hash: string | null,
    next: string | undefined,
  ): Promise<{ ok: boolean; hash?: string }> {
    return this.gated(async () => {
      const ok = await this.verifyNow(password, hash);
      if (!ok || next === undefined) return { ok };
      return { ok, hash: await this.hashNow(next) };
    });
  }

  private async verifyNow(password: string, hash: string | null): Promise<boolean> {
    if (hash !== null) return Bun.password.verify(password, hash);
    this.dummy ??= this.hashNow('tally-dummy-password');
    await Bun.password.verify(password, await this.dummy);
    return false;
  }

  private hashNow(password: string): Promise<string> {
    return Bun.password.hash(password, { algorithm: 'argon2id', ...this.cost });
  }

  /** Runs `work` in a place (waiting for one), or refuses it at once (requireRoom). */
  private async gated<T>(work: () => Promise<T>): Promise<T> {
    this.requireRoom();
    if (this.running < this.limits.runningMax) this.running++;
    // The hash that finishes hands its place over: `running` stays as it is.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running--;
    }
  }
}
