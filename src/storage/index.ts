// Public surface of storage: the write-ahead log and its group committer.

export { checkDisk, type DiskStatus } from './disk.ts';
export { type GroupCommitOptions, GroupCommitter, type SubmitOutcome } from './group-commit.ts';
export {
  type Durability,
  syncDirectory,
  type WalOptions,
  type WalRecord,
  WriteAheadLog,
} from './wal.ts';
