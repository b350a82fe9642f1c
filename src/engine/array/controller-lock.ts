/**
 * The controller's lock on its array (controller.lock), apart from controller-process.ts so that
 * the CLI, which finds and reaches controllers through that module, does not load SQLite.
 */
import Database from 'better-sqlite3';
import { lockFile } from './controller-process.js';

/** A held controller lock: released when the process ends, however it ends. */
export interface ControllerLock {
  release(): void;
}

/**
 * Takes the lock that makes a controller the single writer of its array, or returns null when
 * another live process holds it. The lock is an exclusive SQLite lock on controller.lock (a POSIX
 * record lock underneath), held for the life of the process: the kernel drops it when the process
 * dies, even by kill -9, so there is no stale lock to break and no window in which two starting
 * controllers can both decide that the last one is gone (the pid file alone had one: both removed
 * a dead controller's pid file, one of them the other's fresh one). Nothing else in the process may
 * open and close controller.lock: closing any descriptor of it drops the process's lock.
 */
export function lockController(dir: string): ControllerLock | null {
  const db = new Database(lockFile(dir), { timeout: 0 });
  try {
    // in exclusive locking mode the lock taken by a write is kept after its transaction (one with
    // nothing written keeps none); the rollback journal stays in memory, so the lock is one file
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE; PRAGMA user_version = 1; COMMIT');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw e;
  }
  return {
    release: () => {
      db.close();
    },
  };
}
