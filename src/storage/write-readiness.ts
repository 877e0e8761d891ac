// Whether the store can take writes: the log works, its current file and the data directory
// are the ones opened at start (not deleted or replaced under the process), and the disk has
// room. After a log write found the disk full (see GroupCommitter), this is also where writes
// resume, once there is room again: /ready and ingest's once-a-second check both ask here.

import { checkDisk, checkSameDir, type DirIdentity, type DiskStatus, dirIdentity } from './disk.ts';
import { type FileIo, nodeFileIo } from './file-io.ts';
import type { GroupCommitter } from './group-commit.ts';
import type { WalDiskFullError, WriteAheadLog } from './wal.ts';

export interface WriteReadinessDeps {
  dataDir: string;
  diskFreeBytesMin: number;
  wal: WriteAheadLog;
  committer: GroupCommitter;
  fileIo?: FileIo;
  /** Told when the disk has room again after a full disk and writes resume. */
  onDiskRoom?: () => void;
}

export class WriteReadiness {
  /** The data directory as opened, to tell when it is deleted or replaced under the process. */
  private readonly dataDirOpened: DirIdentity;

  constructor(private readonly deps: WriteReadinessDeps) {
    this.dataDirOpened = dirIdentity(deps.dataDir);
  }

  /** The store's readiness; with `resume` false, a full disk seen before stays refused. */
  check(resume = true): DiskStatus {
    const { dataDir, wal, committer } = this.deps;
    if (!committer.healthy) return { ok: false, reason: 'the write-ahead log failed' };
    const replaced = checkSameDir(dataDir, this.dataDirOpened);
    if (replaced !== null) return replaced;
    const unlinked = wal.unlinkedFile();
    if (unlinked !== null) {
      return { ok: false, reason: `the write-ahead log file ${unlinked} was deleted` };
    }
    const status = checkDisk(dataDir, this.deps.diskFreeBytesMin, this.deps.fileIo);
    const full = committer.diskFull;
    return full === null ? status : this.resumeIfRoom(full, status, resume);
  }

  /**
   * Bytes free on the data directory's disk past DISK_FREE_BYTES_MIN (0 when below it): what
   * a reader may spill there without taking the room ingest needs.
   */
  spareBytes(): number {
    const io = this.deps.fileIo ?? nodeFileIo;
    return Math.max(0, io.freeBytes(this.deps.dataDir) - this.deps.diskFreeBytesMin);
  }

  /**
   * Resumes writes after a full disk once it has room for the refused write again (and
   * DISK_FREE_BYTES_MIN): with less, the next write would most likely fail the same way. Free
   * space cannot show an exhausted quota (EDQUOT): such a disk is tried again at the next
   * check, and a write that fails again is refused the same way.
   */
  private resumeIfRoom(full: WalDiskFullError, status: DiskStatus, resume: boolean): DiskStatus {
    if (resume && status.ok && status.freeBytes >= full.bytes) {
      this.deps.committer.resume();
      this.deps.onDiskRoom?.();
      return status;
    }
    const now = status.ok ? `only ${status.freeBytes} bytes free` : status.reason;
    return {
      ok: false,
      reason: `${full.message}; writes resume once ${full.bytes} bytes are free (${now})`,
    };
  }
}
