// A disk slower than the test: every fdatasync of the app's write-ahead log waits until the
// test opens the disk, so no commit is durable (and no ingest request answered) before then.

import type { TestApp } from './app.ts';

/** Holds every log fdatasync of `app` until the returned function is called. */
export function holdDisk(app: TestApp): () => void {
  const wal = (app.engine.store as unknown as { wal: { sync: () => Promise<void> } }).wal;
  const sync = wal.sync.bind(wal);
  let openDisk = () => {};
  const diskOpen = new Promise<void>((resolve) => {
    openDisk = resolve;
  });
  wal.sync = async () => {
    await diskOpen;
    return sync();
  };
  return openDisk;
}
