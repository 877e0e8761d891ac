// An async readers-writer lock with writer preference. A snapshot holds the read side while it
// is taken (never while its queries run: see SnapshotReaders); a flush or compaction takes the
// write side only for its short catalog swap, so a snapshot never lists a segment and the hot
// rows it replaced (or neither).

export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waitingWriters: (() => void)[] = [];
  private waitingReaders: (() => void)[] = [];

  async read<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquireRead();
    try {
      return await fn();
    } finally {
      this.releaseRead();
    }
  }

  async write<T>(fn: () => Promise<T> | T): Promise<T> {
    await this.acquireWrite();
    try {
      return await fn();
    } finally {
      this.releaseWrite();
    }
  }

  acquireRead(): Promise<void> {
    if (!this.writing && this.waitingWriters.length === 0) {
      this.readers++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waitingReaders.push(() => {
        this.readers++;
        resolve();
      }),
    );
  }

  releaseRead(): void {
    this.readers--;
    if (this.readers === 0) this.wakeWriter();
  }

  private acquireWrite(): Promise<void> {
    if (!this.writing && this.readers === 0) {
      this.writing = true;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waitingWriters.push(() => {
        this.writing = true;
        resolve();
      }),
    );
  }

  private releaseWrite(): void {
    this.writing = false;
    if (this.waitingWriters.length > 0) {
      this.wakeWriter();
      return;
    }
    const readers = this.waitingReaders;
    this.waitingReaders = [];
    for (const wake of readers) wake();
  }

  private wakeWriter(): void {
    if (this.writing || this.readers > 0) return;
    this.waitingWriters.shift()?.();
  }
}
