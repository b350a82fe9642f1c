/**
 * The floor under a resync that keeps a consistent image: what the bench's `rcopy pair resync`
 * must do at the least, done as plainly as possible in one process, with no controller, no CLI,
 * no hashes and no link. For the tracks the workload changed (its generator replayed from the
 * seed, before the timing), it reads each track's old content from the S-VOL image, appends it to an image file and
 * fsyncs that, then reads the track from the P-VOL image, writes it into the S-VOL image and
 * fsyncs that. Sixteen reads or writes in flight; the image and the S-VOL are written around the
 * page cache when the file system allows (as rcopy's are). bench/replication.ts times this whole
 * process, start-up included, as the DESIGN.md figure for a bare copy was taken.
 *
 *   node resync-floor.js P_IMAGE S_IMAGE IMAGE_FILE TRACKS_FILE BLOCK_SIZE
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { DirectFile, pwriteMaybeDirect } from '../src/engine/util/file-io.js';
import { forEachLimit } from '../src/engine/util/parallel.js';
import { Rng } from '../src/engine/array/workload.js';

/**
 * The blocks `rcopy workload run --pattern random` writes for a seed, sorted and distinct
 * (src/engine/array/workload.ts draws one block, then fills its data, per write). Computed by the bench
 * before it times the floor: replaying the data costs more than the copy.
 */
export function workloadBlocks(seed: number, volumeSize: number, bs: number, bytes: number): number[] {
  const rng = new Rng(seed);
  const blocks = Math.floor(volumeSize / bs);
  const junk = Buffer.alloc(bs);
  const chosen = new Set<number>();
  for (let done = 0; done < bytes; done += bs) {
    chosen.add(rng.int(blocks));
    rng.fill(junk);
  }
  return [...chosen].sort((a, b) => a - b);
}

const HDR = 512;

async function main(pPath: string, sPath: string, imgPath: string, tracks: number[], bs: number): Promise<void> {
  const p = await fsp.open(pPath, 'r');
  const s = await fsp.open(sPath, 'r+');
  const img = await fsp.open(imgPath, 'w+');
  const imgDirect = new DirectFile(imgPath);
  const sDirect = new DirectFile(sPath);
  const t0 = performance.now();
  // 1. the consistent image: old content of every track, durable before any track is overwritten
  const rec = HDR + bs;
  const image = Buffer.alloc(tracks.length * rec);
  await forEachLimit(tracks.length, 16, async (i) => {
    image.writeUInt32LE(tracks[i]!, i * rec);
    await s.read(image, i * rec + HDR, bs, tracks[i]! * bs);
  });
  await pwriteMaybeDirect(img, imgDirect, image, 0);
  await img.datasync();
  const t1 = performance.now();
  // 2. the new content from the P-VOL, written over the old, durable
  await forEachLimit(tracks.length, 16, async (i) => {
    const buf = Buffer.allocUnsafe(bs);
    await p.read(buf, 0, bs, tracks[i]! * bs);
    await pwriteMaybeDirect(s, sDirect, buf, tracks[i]! * bs);
  });
  await s.datasync();
  if (process.env.FLOOR_TIMES) console.error(`floor: image ${Math.round(t1 - t0)} ms, copy ${Math.round(performance.now() - t1)} ms`);
  await Promise.all([imgDirect.close(), sDirect.close()]);
  await Promise.all([p.close(), s.close(), img.close()]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [pPath, sPath, imgPath, tracksFile, bsArg] = process.argv.slice(2);
  if (!pPath || !sPath || !imgPath || !tracksFile || !bsArg) {
    console.error('usage: resync-floor P_IMAGE S_IMAGE IMAGE_FILE TRACKS_FILE BLOCK_SIZE (TRACKS_FILE: one track number per line)');
    process.exit(2);
  }
  const tracks = fs.readFileSync(tracksFile, 'utf8').split('\n').filter(Boolean).map(Number);
  await main(pPath, sPath, imgPath, tracks, Number(bsArg));
}
