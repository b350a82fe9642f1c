/**
 * Room kept for the array's own bookkeeping on a full disk: RESERVE_UNITS files of RESERVE_UNIT
 * bytes (reserve.0, reserve.1...) in the array directory. A feature that must record a suspension
 * caused by a lack of space frees one just before (use()), so that the state change can be
 * written (management store, bitmaps) when the volumes share their file system with them: a
 * state change needs a few pages, a unit is 1 MiB.
 * Units are made again at the next open, or after a later successful write (tried at most once
 * a minute), once there is room. Best effort throughout.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pwriteAll } from '../util/file-io.js';
import { CREATE_FLAGS, fileMode } from './home.js';

const RESERVE_UNITS = 4;
const RESERVE_UNIT = 1024 * 1024;
/** How often a write may try to make missing units again. */
const RETRY_MS = 60_000;

export class SpaceReserve {
  private full = false;
  private tried = 0;

  constructor(private readonly dir: string) {}

  /** Makes the missing units (best effort: stops at the first that cannot be made). */
  async keep(): Promise<void> {
    this.tried = Date.now();
    for (let i = 0; i < RESERVE_UNITS; i++) {
      const file = this.unit(i);
      try {
        if ((await fsp.stat(file)).size === RESERVE_UNIT) continue;
      } catch {
        /* not there */
      }
      const tmp = `${file}.tmp`;
      try {
        const fh = await fsp.open(tmp, CREATE_FLAGS, fileMode());
        try {
          await fh.chmod(fileMode()); // made in open(), possibly under the caller's umask
          await pwriteAll(fh, Buffer.alloc(RESERVE_UNIT), 0); // no fsync: the space is taken at write time
        } finally {
          await fh.close();
        }
        await fsp.rename(tmp, file);
      } catch {
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        break;
      }
    }
    this.full = (await this.units()).length === RESERVE_UNITS;
  }

  /** A write failed for lack of space: frees one unit; false when none was left. */
  use(): boolean {
    for (let i = RESERVE_UNITS - 1; i >= 0; i--) {
      const file = this.unit(i);
      if (!fs.existsSync(file)) continue;
      fs.rmSync(file, { force: true });
      this.full = false;
      return true;
    }
    return false;
  }

  /** After a successful write: makes missing units again, at most once a minute. */
  afterWrite(): void {
    if (!this.full && Date.now() - this.tried > RETRY_MS) void this.keep();
  }

  private unit(i: number): string {
    return path.join(this.dir, `reserve.${i}`);
  }

  private async units(): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < RESERVE_UNITS; i++) {
      const file = this.unit(i);
      if (
        await fsp.stat(file).then(
          () => true,
          () => false,
        )
      )
        out.push(file);
    }
    return out;
  }
}
