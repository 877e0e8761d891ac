// The secrets that sign access tokens: generated here, kept in SQLite (never in config or the
// repository), rotated after `rotateAfterMs`. A retired secret still verifies tokens until the
// longest access token it signed has expired, then it is deleted.

import type { Database } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import { assert, type Clock } from '../core/index.ts';

const SECRET_BYTES = 32;

interface KeyRow {
  kid: string;
  secret: Uint8Array;
  created_at: number;
  retired_at: number | null;
}

export interface SigningKeyOptions {
  rotateAfterMs: number;
  accessTtlMs: number;
}

export class SigningKeyRing {
  private keys = new Map<string, KeyRow>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly options: SigningKeyOptions,
  ) {
    this.load();
  }

  /** The key to sign with now; makes a new one first when there is none or it is due. */
  current(): { kid: string; secret: Uint8Array } {
    const now = this.clock.now();
    let active = this.active();
    if (active === undefined || now - active.created_at >= this.options.rotateAfterMs) {
      this.rotate();
      active = this.active();
    }
    assert(active !== undefined, 'a signing key exists after rotation');
    return { kid: active.kid, secret: active.secret };
  }

  /** The secret of a key that may still verify tokens, or null. */
  secretOf(kid: string): Uint8Array | null {
    const key = this.keys.get(kid);
    if (key === undefined) return null;
    if (key.retired_at !== null && key.retired_at + this.options.accessTtlMs <= this.clock.now()) {
      return null;
    }
    return key.secret;
  }

  /** Retires the active key and starts a new one; deletes keys no token can still use. */
  rotate(): string {
    const now = this.clock.now();
    const kid = randomBytes(8).toString('hex');
    this.db.transaction(() => {
      this.db.query('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').run(now);
      this.db
        .query('DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at <= ?')
        .run(now - this.options.accessTtlMs);
      this.db
        .query('INSERT INTO signing_keys (kid, secret, created_at) VALUES (?, ?, ?)')
        .run(kid, randomBytes(SECRET_BYTES), now);
    })();
    this.load();
    return kid;
  }

  private active(): KeyRow | undefined {
    for (const key of this.keys.values()) if (key.retired_at === null) return key;
    return undefined;
  }

  private load(): void {
    const rows = this.db
      .query('SELECT kid, secret, created_at, retired_at FROM signing_keys')
      .all() as KeyRow[];
    this.keys = new Map(rows.map((row) => [row.kid, row]));
  }
}
