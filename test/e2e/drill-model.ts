/**
 * A model of the bytes a stamped workload wrote (workload run --pattern seq --depth 1 --stamp):
 * every 4 KiB block written once, stamped with its write number, one journal entry per write, so
 * the image of a volume at "the first k writes" is the final P-VOL image with every block of
 * stamp >= k zeroed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, type TestHome } from '../helpers.js';

export const BS = 4096;
const STAMP = 0x53544d50;

/** stamp -> block offset of the stamped blocks of an image. */
export function stampsIn(img: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  for (let off = 0; off + 16 <= img.length; off += BS) if (img.readUInt32LE(off + 12) === STAMP) out.set(Number(img.readBigUInt64LE(off)), off);
  return out;
}

/** The image after the first k writes: the final image with later writes' blocks zeroed. */
export function modelAt(finalImage: Buffer, k: number): Buffer {
  const m = Buffer.from(finalImage);
  for (const [no, off] of stampsIn(finalImage)) if (no >= k) m.fill(0, off, off + BS);
  return m;
}

/** The stamps of several images together must be exactly 0..k-1: returns k. */
export function prefixOf(...imgs: Buffer[]): number {
  const seen = new Set<number>();
  for (const img of imgs) for (const k of stampsIn(img).keys()) seen.add(k);
  for (let i = 0; i < seen.size; i++) if (!seen.has(i)) throw new Error(`the images show write ${Math.max(...seen)} but not the earlier write ${i}`);
  return seen.size;
}

export function pImage(h: TestHome, vol: string): Buffer {
  return fs.readFileSync(path.join(arrayDirOf(h, 'A'), 'volumes', `${vol}.img`));
}

/** The bytes of a volume or view, through `io read --out`. */
export async function readRef(h: TestHome, ref: string, length: string): Promise<Buffer> {
  const f = path.join(h.tempDir(), 'read.img');
  await h.ok('io', 'read', ref, '--length', length, '--out', f);
  const b = fs.readFileSync(f);
  fs.rmSync(f);
  return b;
}

export const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
