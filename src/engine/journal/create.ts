/**
 * Making a journal file. The file is made whole under a temporary name in the same directory
 * (.NAME.PID.creating) and linked to its name only then: an interrupted create leaves no journal
 * file, only a temporary one that removeCreateLeftovers() clears. The data area is sparse unless
 * preallocated; only the two header slots are written (generation 0 and 1), then fsynced.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { E } from '../../errors.js';
import { formatBytes } from '../../units.js';
import { pwriteAll, syncDir } from '../util/file-io.js';
import { ALIGN, DATA_START, type HeaderState, SLOT, ZERO, encodeSlot } from './layout.js';

const CREATING = '.creating';

/** Makes a new journal file of `capacity` data bytes (a multiple of 512); fails if it exists,
 *  and with ERR_RCOPY_NO_SPACE when the file system has not that much free space. The data area
 *  is sparse unless `preallocate` (then written with zeros). Returns the open file and its header. */
export async function createJournalFile(file: string, capacity: number, opts: { preallocate?: boolean }): Promise<{ fh: fsp.FileHandle; hdr: HeaderState }> {
  if (!Number.isSafeInteger(capacity) || capacity < 64 * 1024 || capacity % ALIGN !== 0) {
    throw E.badInput(`journal capacity ${capacity} is not valid`, 'use a multiple of 512 bytes, at least 64 KiB');
  }
  const dir = path.dirname(file);
  const st = await fsp.statfs(dir);
  const free = st.bavail * st.bsize;
  if (DATA_START + capacity > free) {
    throw E.noSpace(`a journal of ${formatBytes(capacity)} does not fit: the file system of ${dir} has ${formatBytes(free)} free`, 'free space there, or create a smaller journal (--size)');
  }
  if (fs.existsSync(file)) throw E.journalExists(`journal file ${file}`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}${CREATING}`);
  const fh = await fsp.open(tmp, 'wx+');
  let linked = false;
  try {
    await fh.truncate(DATA_START + capacity);
    if (opts.preallocate)
      for (let p = DATA_START; p < DATA_START + capacity; p += ZERO.length) {
        await pwriteAll(fh, [ZERO.subarray(0, Math.min(ZERO.length, DATA_START + capacity - p))], p);
      }
    const hdr: HeaderState = { salt: randomBytes(8), capacity, generation: 0, tail: DATA_START, releasedSeq: 0, lastSeq: 0, tailBatchFirst: 0, epoch: 1, syncedSeq: 0, durableSeq: 0 };
    await pwriteAll(fh, [encodeSlot(hdr)], 0);
    hdr.generation = 1;
    await pwriteAll(fh, [encodeSlot(hdr)], SLOT);
    await fh.sync();
    await fsp.link(tmp, file); // fails if the name was taken meanwhile
    linked = true;
    await fsp.rm(tmp);
    await syncDir(dir);
    return { fh, hdr };
  } catch (err) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    if (linked) await fsp.rm(file, { force: true });
    throw err;
  }
}

/** Removes what interrupted creates left in `dir` (temporary files of other processes). */
export async function removeCreateLeftovers(dir: string): Promise<string[]> {
  const gone: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return gone;
  }
  for (const n of names) {
    const m = /^\..+\.(\d+)\.creating$/.exec(n);
    if (!m || Number(m[1]) === process.pid) continue; // one of ours may be under way
    await fsp.rm(path.join(dir, n), { force: true });
    gone.push(n);
  }
  return gone;
}
