// Named parameters for the SQL the query module writes itself. Every value a query uses goes
// through here and is bound; the SQL text only ever holds the generated `$q_N` names.

import { type DuckDBType, type DuckDBValue, timestampTZValue } from '@duckdb/node-api';
import { assert } from '../core/index.ts';

const PREFIX = 'q_';

export class SqlParams {
  readonly values: Record<string, DuckDBValue> = {};
  readonly types: Record<string, DuckDBType> = {};
  private count = 0;

  /** Binds a value (of `type` when inference would pick another) and returns `$q_N`. */
  add(value: DuckDBValue, type?: DuckDBType): string {
    this.count += 1;
    const name = `${PREFIX}${this.count}`;
    this.values[name] = value;
    if (type !== undefined) this.types[name] = type;
    return `$${name}`;
  }

  /**
   * A value bound the first time the returned function is called, whose `$q_N` it returns each
   * time: for a value only some conditions read (DuckDB refuses a parameter the SQL never uses).
   */
  lazy(value: DuckDBValue): () => string {
    let name: string | undefined;
    return () => {
      name ??= this.add(value);
      return name;
    };
  }

  /** Binds an instant (UTC epoch ms) as a TIMESTAMPTZ. */
  addInstant(ms: number): string {
    return this.add(timestampTZValue(BigInt(Math.round(ms)) * 1000n));
  }

  /** These values together with a snapshot's own (which never use the `q_` prefix). */
  with(snapshotParams: Record<string, DuckDBValue>): Record<string, DuckDBValue> {
    for (const name of Object.keys(snapshotParams)) {
      assert(!name.startsWith(PREFIX), `snapshot parameter ${name} clashes with query parameters`);
    }
    return { ...snapshotParams, ...this.values };
  }
}
