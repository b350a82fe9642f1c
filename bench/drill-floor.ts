/**
 * The floor under pull + restore with a running drill (bench/drill.ts): what the secondary must
 * do at the least for the same data, done plainly in one process, with no controller, no CLI, no
 * link and no checksums. The pulled data is a buffer in memory (it comes off the wire); batches of
 * PULL_BATCH (16 MiB) bytes, in order over the S-VOL, as the bench's `io write --file` makes them.
 * Durable as rcopy's arrays make it in the bench (durability fsync, the default):
 *
 *   plain  each batch appended to a journal file (a ring; O_DIRECT, not fsynced: the primary keeps
 *          the entries until they are restored), then written onto the S-VOL image (O_DIRECT) and
 *          the image fdatasynced, then the journal's header slot written O_DSYNC (the release).
 *          The append of the next batch runs while this one is restored (rcopy pulls ahead).
 *   drill  the same, and before each batch's S-VOL write: the batch's old tracks read from the
 *          S-VOL image, written to a keep file (appended, one 512-byte header per 4 MiB run,
 *          O_DIRECT) and the keep file fdatasynced.
 *   overlap  the drill's work scheduled as well as it can be: the keep of batch i+1 (its old tracks
 *          are others than batch i's) runs while batch i is written onto the S-VOL, so the disk
 *          always has both to do. What no design that keeps the S-VOL a flat image can beat on
 *          this disk: the same bytes read and written, nothing waits that need not.
 *
 * Before the timed passes the S-VOL image and the journal are written (two plain passes, not
 * timed), so the timed passes overwrite written blocks, as the bench's drains do. The keep file
 * is new for the drill pass (a drill's keep store is). Prints one line of JSON: the seconds of
 * each timed pass, in the order asked.
 *
 *   node drill-floor.js DIR BYTES plain,drill,overlap
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { DirectFile, pwriteMaybeDirect } from '../src/engine/util/file-io.js';
import { forEachLimit } from '../src/engine/util/parallel.js';
import { PULL_BATCH } from '../src/engine/repl/restore.js';
import { journalBytesFor } from './lib.js';

const HDR = 512;
const RUN = 4 * 1024 * 1024;

interface Handle {
  fh: fsp.FileHandle;
  direct: DirectFile;
}

async function open(file: string, flags: string): Promise<Handle> {
  return { fh: await fsp.open(file, flags), direct: new DirectFile(file) };
}

async function close(h: Handle): Promise<void> {
  await h.direct.close();
  await h.fh.close();
}

class Floor {
  private jpos = HDR * 2;
  private keepPos = 0;
  private gen = 0;
  private readonly hdr = Buffer.alloc(HDR);
  private readonly slot = Buffer.alloc(HDR);

  constructor(
    private readonly svol: Handle,
    private readonly journal: Handle,
    private readonly jslot: fsp.FileHandle,
    private readonly jsize: number,
  ) {}

  /** One pass over `bytes` of the S-VOL; with `keep`, the old tracks kept first (with `overlap`, a batch ahead). */
  async pass(bytes: number, data: Buffer[], keep: Handle | null, overlap = false): Promise<void> {
    let restoring: Promise<void> = Promise.resolve();
    const len = (off: number): number => Math.min(PULL_BATCH, bytes - off);
    this.keepPos = 0; // a new keep file
    let kept: Promise<void> | null = keep && overlap ? this.keep(keep, 0, len(0)) : null;
    for (let off = 0, i = 0; off < bytes; off += PULL_BATCH, i++) {
      const buf = data[i % data.length]!.subarray(0, len(off));
      await this.append(buf);
      await restoring;
      if (kept) {
        await kept; // batch i's old tracks are durable in the keep file
        const next = off + PULL_BATCH;
        kept = next < bytes ? this.keep(keep!, next, len(next)) : null;
      }
      restoring = this.restore(off, buf, overlap ? null : keep);
    }
    await restoring;
  }

  private async append(buf: Buffer): Promise<void> {
    if (this.jpos + HDR + buf.length > this.jsize) this.jpos = HDR * 2;
    this.hdr.writeUInt32LE(buf.length, 0);
    await pwriteMaybeDirect(this.journal.fh, this.journal.direct, [this.hdr, buf], this.jpos);
    this.jpos += HDR + buf.length;
  }

  private async restore(off: number, buf: Buffer, keep: Handle | null): Promise<void> {
    if (keep) await this.keep(keep, off, buf.length);
    await pwriteMaybeDirect(this.svol.fh, this.svol.direct, buf, off);
    await this.svol.fh.datasync();
    this.slot.writeUInt32LE(++this.gen, 0);
    await this.jslot.write(this.slot, 0, HDR, (this.gen % 2) * HDR);
  }

  /** The old content of [off, off + len) read (runs of 4 MiB, read side by side) and kept durably. */
  private async keep(keep: Handle, off: number, len: number): Promise<void> {
    const runs = Math.ceil(len / RUN);
    const bufs: Buffer[] = [];
    await forEachLimit(runs, runs, async (r) => {
      const n = Math.min(RUN, len - r * RUN);
      const h = Buffer.alloc(HDR);
      h.writeUInt32LE(n, 0);
      const b = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) {
        const { bytesRead } = await this.svol.fh.read(b, done, n - done, off + r * RUN + done);
        if (!bytesRead) throw new Error('short read of the S-VOL image');
        done += bytesRead;
      }
      bufs[2 * r] = h;
      bufs[2 * r + 1] = b;
    });
    await pwriteMaybeDirect(keep.fh, keep.direct, bufs, this.keepPos);
    this.keepPos += runs * HDR + len;
    await keep.fh.datasync();
  }
}

async function main(dir: string, bytes: number, order: string[]): Promise<void> {
  const svolFile = path.join(dir, 'floor-svol.img');
  const jFile = path.join(dir, 'floor-journal.jnl');
  const keepFile = path.join(dir, 'floor.keep');
  for (const f of [svolFile, jFile]) {
    fs.writeFileSync(f, '');
    fs.truncateSync(f, f === jFile ? Math.ceil(journalBytesFor(bytes) / HDR) * HDR + HDR * 2 : bytes);
  }
  const data = [Buffer.allocUnsafe(PULL_BATCH), Buffer.allocUnsafe(PULL_BATCH)];
  for (const d of data) randomFillSync(d);
  const svol = await open(svolFile, 'r+');
  const journal = await open(jFile, 'r+');
  const jslot = await fsp.open(jFile, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  const floor = new Floor(svol, journal, jslot, fs.statSync(jFile).size);
  const out: Record<string, number> = {};
  try {
    // not timed: the S-VOL written, and the journal (a ring of 1.25 times the data plus two batches, sparse) all round
    await floor.pass(bytes, data, null);
    await floor.pass(bytes, data, null);
    for (const mode of order) {
      fs.rmSync(keepFile, { force: true });
      const keep = mode !== 'plain' ? await open(keepFile, 'w+') : null;
      const t0 = performance.now();
      await floor.pass(bytes, data, keep, mode === 'overlap');
      out[mode] = (performance.now() - t0) / 1000;
      if (keep) await close(keep);
    }
  } finally {
    await Promise.all([close(svol), close(journal), jslot.close()]);
    for (const f of [svolFile, jFile, keepFile]) fs.rmSync(f, { force: true });
  }
  console.log(JSON.stringify(out));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, bytesArg, orderArg] = process.argv.slice(2);
  const order = (orderArg ?? 'plain,drill').split(',');
  if (!dir || !bytesArg || order.some((m) => m !== 'plain' && m !== 'drill' && m !== 'overlap')) {
    console.error('usage: drill-floor DIR BYTES [plain,drill,overlap]');
    process.exit(2);
  }
  await main(dir, Number(bytesArg), order);
}
