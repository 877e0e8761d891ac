// The snapshots in use, and the segment files they may still read. A snapshot takes the store's
// read lock only while it is taken, then reads without it: a lock held for a whole query made
// one tenant's slow read hold up the next flush, and through the writer-preferring lock every
// later read of every tenant. What a snapshot reads must stay meanwhile: its hot rows are kept
// by its DuckDB transaction; files a compaction replaced are removed only once every snapshot
// taken before the swap is released.

import * as fs from 'node:fs';

interface Retired {
  /** Snapshots of earlier generations may read the files. */
  generation: number;
  files: string[];
}

export class SnapshotReaders {
  private generation = 0;
  /** Held snapshots by the generation they were taken in. */
  private readonly held = new Map<number, number>();
  private retired: Retired[] = [];
  private waiting: (() => void)[] = [];

  /** `onRemoved` is told after retired files were removed (an erasure may wait for them). */
  constructor(private readonly onRemoved: () => void = () => {}) {}

  /** Counts a snapshot taken now; returns its release (which may be called more than once). */
  enter(): () => void {
    const generation = this.generation;
    this.held.set(generation, (this.held.get(generation) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const count = (this.held.get(generation) ?? 1) - 1;
      if (count === 0) this.held.delete(generation);
      else this.held.set(generation, count);
      if (this.held.size === 0) for (const wake of this.waiting.splice(0)) wake();
      // A file that cannot be removed is no failure of this read (it ran; its answer stands):
      // thrown here, it would fail every later read of every tenant, which all retry it. It
      // stays retired, and the next compaction that retires files reports it (see retire).
      this.removeUnread();
    };
  }

  /**
   * Removes `files` (absent ones ignored) once no snapshot taken before now is held. Throws
   * the first removal that failed, of these or of earlier files still retired (they stay
   * retired, to be tried again).
   */
  retire(files: string[]): void {
    this.generation++;
    this.retired.push({ generation: this.generation, files });
    const failure = this.removeUnread();
    if (failure !== null) throw failure.error;
  }

  /** Those of `files` retired and not removed yet: a held snapshot may read them, or their
   * removal failed (tried again as snapshots are released and files retired). */
  retiredAmong(files: readonly string[]): string[] {
    const waiting = new Set(this.retired.flatMap((entry) => entry.files));
    return files.filter((file) => waiting.has(file));
  }

  /** Resolves once no snapshot is held. */
  released(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Removes the retired files no held snapshot may read; returns the first failure. */
  private removeUnread(): { error: unknown } | null {
    let oldest = Number.POSITIVE_INFINITY;
    for (const generation of this.held.keys()) oldest = Math.min(oldest, generation);
    let failure: { error: unknown } | null = null;
    let removed = 0;
    const kept: Retired[] = [];
    for (const entry of this.retired) {
      if (oldest < entry.generation) {
        kept.push(entry);
        continue;
      }
      const left = entry.files.filter((file) => {
        try {
          fs.rmSync(file, { force: true });
          removed++;
          return false;
        } catch (error) {
          failure ??= { error };
          return true;
        }
      });
      if (left.length > 0) kept.push({ generation: entry.generation, files: left });
    }
    this.retired = kept;
    if (removed > 0) this.onRemoved();
    return failure;
  }
}
