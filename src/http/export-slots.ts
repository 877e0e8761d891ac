// How many exports of one tenant are being sent at once (GET /api/v1/export). While it is sent,
// an export holds no read place but a Parquet file's disk space, or pages in memory, for as
// long as its client takes (hours for a large one over a slow link): without a bound, one read
// key could start exports faster than they end, each a copy of the whole project, and fill the
// data directory's disk, which stops every tenant's ingest. Past the bound an export is refused
// (429, tenant_overloaded) before anything is read; a slot is given back once its export ended
// (sent, failed, cut, its client gone, or its body dropped unread).

import { AppError } from '../core/index.ts';

export class ExportSlots {
  private readonly taken = new Map<string, number>();

  constructor(private readonly perTenantMax: number) {}

  /** Takes a slot of `tenant` (429 when all are taken); returns its release (idempotent). */
  take(tenant: string): () => void {
    const count = this.taken.get(tenant) ?? 0;
    if (count >= this.perTenantMax) {
      throw new AppError(
        'tenant_overloaded',
        `${this.perTenantMax} exports of this project are being sent; retry once one has ended`,
      );
    }
    this.taken.set(tenant, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.taken.get(tenant) ?? 1) - 1;
      if (left === 0) this.taken.delete(tenant);
      else this.taken.set(tenant, left);
    };
  }
}
