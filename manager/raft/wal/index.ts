/** Durable raft storage: checksummed WAL segments with group commit, snapshot files, DiskStorage. */
export { DiskStorage, type PersistRequest } from './disk-storage.js';
export { Wal, replay, defaultSegmentBytes, type RecoveredLog, type WalOptions } from './wal.js';
export { SnapshotFiles, keptSnapshots } from './snapshot-files.js';
export { crc32c } from './crc32c.js';
