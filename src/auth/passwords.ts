// Password hashing with Bun.password (argon2id, salted, parameters stored in the hash). A login
// for an unknown email still verifies against a dummy hash, so both cost the same time.

export interface PasswordCost {
  /** argon2 memory in KiB (Bun's default: 65536). */
  memoryCost: number;
  /** argon2 iterations (Bun's default: 2). */
  timeCost: number;
}

export const defaultPasswordCost: PasswordCost = { memoryCost: 65536, timeCost: 2 };

export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  constructor(private readonly cost: PasswordCost) {}

  hash(password: string): Promise<string> {
    return Bun.password.hash(password, { algorithm: 'argon2id', ...this.cost });
  }

  /** Verifies against `hash`, or against a dummy when there is no user (same time, false). */
  async verify(password: string, hash: string | null): Promise<boolean> {
    if (hash !== null) return Bun.password.verify(password, hash);
    this.dummy ??= this.hash('tally-dummy-password');
    await Bun.password.verify(password, await this.dummy);
    return false;
  }
}
