/**
 * Report speed: a week of one-minute entries (10,080 per volume) for 16 volumes of 100 GiB
 * (1,638,400 tracks of 64 KiB), 1% of tracks changed per minute, spread at random.
 * Every entry carries a full dense bitmap (204,800 bytes; 33 GB ORed in all). To keep the bench in
 * memory, entries share a pool of POOL different random bitmaps per volume (argument, default 16:
 * 52 MB, more than the L3 cache, so the bitmaps stream from DRAM as real entries would).
 * Prints seconds for 1-hour windows, and for 1-hour windows sliding every 10 minutes.
 * Target (DESIGN.md §6): under 5 seconds.
 * Then the same entries through the collection data set (SQLite, compact encoding, decoded on read
 * as `rcopy stats report` does), for STORE_DAYS days (argument 2, default 1; a week is ~3.4 GB of
 * store) with 1-hour windows; prints the seconds and the store size.
 * Usage: node dist/bench/stats-report.js [POOL] [STORE_DAYS]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagementStore } from '../src/engine/store.js';
import { StatsStore, encodeEntry } from '../src/engine/stats-store.js';
import { buildReport } from '../src/engine/stats-report.js';
import type { StatsEntry } from '../src/engine/pb-table.js';

const VOLS = 16, TRACKS = 1_638_400, PER_MIN = TRACKS / 100, MINUTES = 7 * 24 * 60;
const POOL = Number(process.argv[2] ?? 16);
const M = 60_000;
const T0 = Date.UTC(2026, 0, 5);

const pools: { bitmap: Buffer; count: number }[][] = [];
for (let v = 0; v < VOLS; v++) {
  const pool = [];
  for (let p = 0; p < POOL; p++) {
    const bitmap = Buffer.alloc(TRACKS / 8);
    let count = 0;
    while (count < PER_MIN) {
      const t = Math.floor(Math.random() * TRACKS);
      if (!(bitmap[t >> 3]! & (1 << (t & 7)))) {
        bitmap[t >> 3]! |= 1 << (t & 7);
        count++;
      }
    }
    pool.push({ bitmap, count });
  }
  pools.push(pool);
}
const entries: StatsEntry[] = [];
for (let m = 0; m < MINUTES; m++) {
  for (let v = 0; v < VOLS; v++) {
    const p = pools[v]![Math.floor(Math.random() * POOL)]!;
    entries.push({ start: T0 + m * M, end: T0 + (m + 1) * M, volume: `vol${v}`, trackSize: 65536, tracks: TRACKS, bitmap: p.bitmap, count: p.count, writes: 20_000, writeBytes: 20_000 * 8192 });
  }
}
console.log(`${entries.length.toLocaleString('en')} entries, ${((entries.length * TRACKS) / 8 / 1e9).toFixed(1)} GB of bitmaps, pool of ${POOL} bitmaps per volume (${((VOLS * POOL * TRACKS) / 8 / 1e6).toFixed(0)} MB)`);

for (const [label, opts] of [
  ['1-hour windows', { windowMs: 60 * M }],
  ['1-hour windows by volume', { windowMs: 60 * M, by: 'volume' as const }],
  ['1-hour windows sliding every 10 minutes', { windowMs: 60 * M, slideMs: 10 * M }],
] as const) {
  const t = process.hrtime.bigint();
  const r = buildReport(entries, opts);
  const sec = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`${label}: ${sec.toFixed(2)} s (${r.kernel}; ${r.windows.length} windows, peak ${r.summary.peak?.changedTracks} tracks, distinct ${r.summary.distinctTracks})  target < 5 s: ${sec < 5 ? 'met' : 'NOT met'}`);
}

// ---- through the store ----
const DAYS = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'rcopy-bench-report-'));
try {
  const ms = ManagementStore.open(join(dir, 'mgmt.db'), { create: true, durable: false });
  const st = StatsStore.of(ms);
  const encPools = pools.map((pool) => pool.map((p) => encodeEntry({ start: 0, end: 1, volume: '', trackSize: 65536, tracks: TRACKS, bitmap: p.bitmap, count: p.count, writes: 0, writeBytes: 0 })));
  let t = process.hrtime.bigint();
  const n = Math.min(entries.length, DAYS * 24 * 60 * VOLS);
  for (let i = 0; i < n; i += 16 * 60) {
    const batch = entries.slice(i, Math.min(n, i + 16 * 60)).map((e) => {
      const v = Number(e.volume.slice(3));
      const enc = encPools[v]![pools[v]!.findIndex((p) => p.bitmap === e.bitmap)]!;
      return { ...enc, start: e.start, end: e.end, volume: e.volume, writes: e.writes, writeBytes: e.writeBytes };
    });
    st.addEntries('bench', batch);
  }
  ms.db.pragma('wal_checkpoint(TRUNCATE)');
  const writeSec = Number(process.hrtime.bigint() - t) / 1e9;
  const size = statSync(join(dir, 'mgmt.db')).size;
  ms.close();
  const ro = StatsStore.openReadOnly(dir);
  t = process.hrtime.bigint();
  const r = buildReport(ro.entries('bench'), { windowMs: 60 * M, volumeTracks: ro.volumeSizes('bench') });
  const sec = Number(process.hrtime.bigint() - t) / 1e9;
  ro.close();
  console.log(`store: ${n.toLocaleString('en')} entries (${DAYS} day${DAYS === 1 ? '' : 's'}), ${(size / 1e6).toFixed(0)} MB (${(size / n / 1024).toFixed(1)} KiB per entry; raw bitmaps ${(TRACKS / 8 / 1024).toFixed(0)} KiB), written in ${writeSec.toFixed(1)} s`);
  console.log(`report from the store, 1-hour windows: ${sec.toFixed(2)} s (${r.windows.length} windows, distinct ${r.summary.distinctTracks}); a week at this rate: ${((sec * 7) / DAYS).toFixed(1)} s; target < 5 s: ${(sec * 7) / DAYS < 5 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
