/**
 * Why the engine writes in IO_CHUNK (512 KiB) calls (src/engine/util/file-io.ts): 1 GiB from a 4 MiB buffer into a
 * fresh sparse file, once as 4 MiB write calls and once through pwriteAll, each followed by an
 * fdatasync, against dd bs=4M conv=fsync (4 MiB write calls too). Three rounds, best of each.
 * Size: RCOPY_BENCH_WRITE (default 1G).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { IO_CHUNK, pwriteAll } from '../src/engine/util/file-io.js';
import { BenchHome, GiB, randomFile, report, result, sh, sizeArg, type BenchResult } from './lib.js';

async function fill(file: string, size: number, chunked: boolean): Promise<number> {
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  buf.fill(7);
  const fh = await fsp.open(file, 'w');
  await fh.truncate(size);
  const t0 = performance.now();
  for (let o = 0; o < size; o += buf.length) {
    if (chunked) await pwriteAll(fh, buf, o);
    else await fh.write(buf, 0, buf.length, o);
  }
  await fh.datasync();
  await fh.close();
  const s = (performance.now() - t0) / 1000;
  fs.rmSync(file);
  return s;
}

async function main(): Promise<BenchResult[]> {
  const size = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const h = new BenchHome();
  const best = { big: Infinity, small: Infinity, dd: Infinity };
  try {
    const src = h.file('src.bin');
    randomFile(src, size);
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      sh('dd', [`if=${src}`, `of=${h.file('dd.bin')}`, 'bs=4M', 'conv=fsync']);
      best.dd = Math.min(best.dd, (performance.now() - t0) / 1000);
      fs.rmSync(h.file('dd.bin'));
      best.big = Math.min(best.big, await fill(h.file('big.bin'), size, false));
      best.small = Math.min(best.small, await fill(h.file('small.bin'), size, true));
    }
  } finally {
    h.cleanup();
  }
  return [
    result(`${size / GiB} GiB into a fresh file through pwriteAll (${IO_CHUNK / 1024} KiB calls)`, best.small, 'dd bs=4M conv=fsync', best.dd, '', 'informational'),
    result(`${size / GiB} GiB into a fresh file in 4 MiB write calls`, best.big, 'dd bs=4M conv=fsync', best.dd, '', 'informational'),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await main());
