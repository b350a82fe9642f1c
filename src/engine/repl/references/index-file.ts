/**
 * The primary's content index on disk (references/content-index.ts): one file per master journal,
 * `references/JOURNAL.index` in the array directory (0600, in a 0700 directory), so that a
 * restarted controller does not start with an empty index.
 *
 * Layout, integers little-endian:
 *   [0, 48)  header: 0 u32 crc32 of [4, 48) | 4 magic 'RCRX' | 8 u32 version (1) | 12 u32 places
 *            | 16 f64 validFrom (-1: unknown) | 24 u32 state key bytes | 28 u32 crc32 of the body
 *            | 32..48 zero
 *   body:    the state key (UTF-8), then per place: f64 place, f64 fingerprint (oldest first)
 * Invariants:
 *   - Written whole (temp file + rename), never in place; not fsynced: the file is a hint. What it
 *     says is never trusted as it is: loaded places are candidates that are checked against the
 *     P-VOLs before a pull uses them (references/rebuild.ts), so an old file (a kill -9 after more
 *     was sent) costs references, never correctness. A file whose header or body fails its crc32,
 *     or is longer than MAX_PLACES places, is ignored (and replaced at the next save).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from '../../util/crc32.js';
import { CREATE_FLAGS, NOFOLLOW, fileMode, mkdirMode } from '../../array/home.js';

const HDR = 48;
const MAGIC = 0x58524352; // 'RCRX'
const VERSION = 1;

export interface IndexSnapshot {
  stateKey: string;
  /** The first `after` from which the S-VOLs mirror the P-VOLs under stateKey (Infinity: unknown). */
  validFrom: number;
  /** [place, fingerprint], oldest first. */
  places: Array<[number, number]>;
}

export function indexFile(arrayDir: string, journal: string): string {
  return path.join(arrayDir, 'references', `${journal}.index`);
}

export function encodeSnapshot(s: IndexSnapshot): Buffer {
  const key = Buffer.from(s.stateKey, 'utf8');
  const body = Buffer.alloc(key.length + s.places.length * 16);
  key.copy(body, 0);
  let at = key.length;
  for (const [place, fp] of s.places) {
    body.writeDoubleLE(place, at);
    body.writeDoubleLE(fp, at + 8);
    at += 16;
  }
  const h = Buffer.alloc(HDR);
  h.writeUInt32LE(MAGIC, 4);
  h.writeUInt32LE(VERSION, 8);
  h.writeUInt32LE(s.places.length, 12);
  h.writeDoubleLE(Number.isFinite(s.validFrom) ? s.validFrom : -1, 16);
  h.writeUInt32LE(key.length, 24);
  h.writeUInt32LE(crc32(body), 28);
  h.writeUInt32LE(crc32(h.subarray(4)), 0);
  return Buffer.concat([h, body]);
}

/** The snapshot in `buf`, or null when it is not a whole, undamaged one. */
export function decodeSnapshot(buf: Buffer, maxPlaces: number): IndexSnapshot | null {
  if (buf.length < HDR || buf.readUInt32LE(4) !== MAGIC || buf.readUInt32LE(8) !== VERSION) return null;
  if (buf.readUInt32LE(0) !== crc32(buf.subarray(4, HDR))) return null;
  const n = buf.readUInt32LE(12);
  const keyLen = buf.readUInt32LE(24);
  if (n > maxPlaces || buf.length !== HDR + keyLen + n * 16) return null;
  const body = buf.subarray(HDR);
  if (crc32(body) !== buf.readUInt32LE(28)) return null;
  const vf = buf.readDoubleLE(16);
  const places: Array<[number, number]> = new Array(n);
  let at = keyLen;
  for (let i = 0; i < n; i++, at += 16) {
    const place = body.readDoubleLE(at);
    const fp = body.readDoubleLE(at + 8);
    if (!Number.isSafeInteger(place) || place < 0 || !Number.isSafeInteger(fp) || fp < 0) return null;
    places[i] = [place, fp];
  }
  return { stateKey: body.subarray(0, keyLen).toString('utf8'), validFrom: vf >= 0 ? vf : Infinity, places };
}

export async function saveSnapshot(file: string, s: IndexSnapshot): Promise<void> {
  mkdirMode(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, CREATE_FLAGS, fileMode());
  try {
    await fh.writeFile(encodeSnapshot(s));
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

/** The saved snapshot, or null (none, or damaged: then it is ignored). */
export async function loadSnapshot(file: string, maxPlaces: number): Promise<IndexSnapshot | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, fs.constants.O_RDONLY | NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const size = (await fh.stat()).size;
    if (size > HDR + 65536 + maxPlaces * 16) return null;
    return decodeSnapshot(await fh.readFile(), maxPlaces);
  } finally {
    await fh.close();
  }
}

export function removeSnapshot(file: string): void {
  fs.rmSync(file, { force: true });
}
