/**
 * Report speed through the real path (DESIGN.md §6): a week of one-minute entries (10,080 per volume)
 * for 16 volumes of 100 GiB (1,638,400 tracks of 64 KiB), 1% of tracks changed per minute at random
 * (every entry different), stored in an array's management store, then reported by
 * `rcopy stats report ARRAY:GROUP --window 1h --format json` as a separate process (read-only store,
 * as from cron). Target: under 5 seconds for the week.
 *
 * Entries reach the store as the controller stores them: in the wire/collector form (RUNS, what
 * encodeEntry gives for a random 1% table) through StatsStore.addEntries, one transaction per hour.
 * Prints:
 *   - the store size and how long it took to fill;
 *   - peer: the time to just read every entry row (all columns the report reads) from SQLite with
 *     the same read-only connection settings: the floor for any report over this store;
 *   - the report in this process through the code the CLI runs (reportFromStore), 1-hour windows, and
 *     1-hour windows sliding every 10 minutes, with the CPU time of all its threads;
 *   - the `rcopy stats report` process end to end (node start and module loading included) and the
 *     report time it prints itself (`seconds`).
 * The store is read warm (it was just written, and stays in the page cache when RAM allows); the file
 * sits in a temporary directory under $TMPDIR and is removed at the end.
 * Usage: node dist/bench/stats-report.js [DAYS=7]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagementStore } from '../src/engine/array/mgmt-store.js';
import { StatsStore, type EncodedEntry } from '../src/engine/stats/store.js';
import { ENC_RUNS } from '../src/engine/stats/codec.js';
import { reportFromStore } from '../src/engine/stats/report/from-store.js';
import { record } from './lib.js';

const VOLS = 16,
  TRACKS = 1_638_400,
  TRACK = 65536;
const DAYS = Number(process.argv[2] ?? 7);
const MINUTES = Math.round(DAYS * 24 * 60);
const M = 60_000;
const T0 = Date.UTC(2026, 0, 5);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

// distance to the next set track for a 1% random table: geometric(0.01), by table lookup
const GEO = new Uint16Array(65536);
for (let i = 0; i < 65536; i++) GEO[i] = Math.min(65535, 1 + Math.floor(Math.log((i + 0.5) / 65536) / Math.log(0.99)));
let x = 0x9e3779b9;
const buf = Buffer.alloc(TRACKS * 3);

/** A random 1% table in RUNS form (codec.ts), written directly, and its track count. */
function randomRuns(): { data: Buffer; count: number } {
  let o = 0,
    count = 0;
  let after = 0; // track after the previous run
  let runStart = -1,
    runLen = 0;
  const put = (v: number) => {
    while (v >= 128) {
      buf[o++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[o++] = v;
  };
  const flush = () => {
    const v = (runStart - after) * 2 + (runLen > 1 ? 1 : 0);
    if (v < 128) buf[o++] = v;
    else put(v);
    if (runLen > 1) put(runLen - 2);
    after = runStart + runLen;
  };
  let t = -1;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t += GEO[x & 0xffff]!;
    if (t >= TRACKS) break;
    count++;
    if (runLen > 0 && runStart + runLen === t) runLen++;
    else {
      if (runLen > 0) flush();
      runStart = t;
      runLen = 1;
    }
  }
  if (runLen > 0) flush();
  return { data: Buffer.from(buf.subarray(0, o)), count };
}

const sec = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const home = mkdtempSync(join(tmpdir(), 'rcopy-bench-report-'));
const env = { ...process.env, RCOPY_HOME: home };
try {
  execFileSync(process.execPath, [CLI, 'array', 'create', 'bench', '--durability', 'none'], { env });
  const dir = join(home, 'arrays', 'bench');
  const ms = ManagementStore.open(join(dir, 'mgmt.db'), { durable: false });
  const st = StatsStore.of(ms);
  const vols = Array.from({ length: VOLS }, (_, v) => `vol${v}`);
  st.addExternalMembers(
    'week',
    M,
    vols.map((volume) => ({ volume, tracks: TRACKS, trackSize: TRACK })),
  );
  let t = process.hrtime.bigint();
  let setTracks = 0;
  for (let m0 = 0; m0 < MINUTES; m0 += 60) {
    const batch: EncodedEntry[] = [];
    for (let m = m0; m < Math.min(MINUTES, m0 + 60); m++) {
      for (const volume of vols) {
        const { data, count } = randomRuns();
        setTracks += count;
        batch.push({ start: T0 + m * M, end: T0 + (m + 1) * M, volume, tracks: TRACKS, trackSize: TRACK, count, writes: 20_000, writeBytes: 20_000 * 8192, enc: ENC_RUNS, data });
      }
    }
    st.addEntries('week', batch);
  }
  ms.db.pragma('wal_checkpoint(TRUNCATE)');
  const fillSec = sec(t);
  ms.close();
  const n = MINUTES * VOLS;
  const size = statSync(join(dir, 'mgmt.db')).size;
  console.log(
    `store: ${n.toLocaleString('en')} entries (${DAYS} days, ${(setTracks / n).toFixed(0)} tracks set per entry), ${(size / 1e9).toFixed(2)} GB (${(size / n / 1024).toFixed(1)} KiB per entry; dense bitmaps would be ${(TRACKS / 8 / 1024).toFixed(0)} KiB), filled in ${fillSec.toFixed(1)} s`,
  );

  const perWeek = (s: number) => `${s.toFixed(2)} s (${(s / DAYS).toFixed(2)} s/day${DAYS === 7 ? '' : `, ${((s * 7) / DAYS).toFixed(2)} s for a week`})`;

  // peer: read every row the report reads, and nothing else
  let readRowsSec = 0;
  {
    const ro = StatsStore.openReadOnly(dir);
    t = process.hrtime.bigint();
    let rows = 0,
      bytes = 0;
    for (const e of ro.reportEntries('week')) {
      rows++;
      bytes += e.bitmap === undefined ? e.data.length : 0;
    }
    const s = sec(t);
    readRowsSec = s;
    ro.close();
    console.log(`peer: read the rows from SQLite: ${perWeek(s)}, ${rows.toLocaleString('en')} rows, ${(bytes / 1e9).toFixed(2)} GB of bitmaps`);
  }

  for (const [label, opts] of [
    ['1-hour windows', { windowMs: 60 * M }],
    ['1-hour windows sliding every 10 minutes', { windowMs: 60 * M, slideMs: 10 * M }],
  ] as const) {
    const ro = StatsStore.openReadOnly(dir);
    t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const r = await reportFromStore(ro, 'bench', 'week', opts);
    const s = sec(t);
    const c = process.cpuUsage(cpu);
    ro.close();
    console.log(
      `report in this process, ${label}: ${perWeek(s)}, CPU ${((c.user + c.system) / 1e6).toFixed(2)} s over ${Math.min(availableParallelism(), VOLS)} threads (${r.kernel}; ${r.windows.length} windows, peak ${r.summary.peak?.changedTracks} tracks, distinct ${r.summary.distinctTracks})${DAYS === 7 ? `  target < 5 s: ${s < 5 ? 'met' : 'NOT met'}` : ''}`,
    );
  }

  console.log(
    `load average before the CLI run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${availableParallelism()} CPUs; other work on the machine slows every figure here)`,
  );
  t = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [CLI, 'stats', 'report', 'bench:week', '--window', '1h', '--format', 'json'], { env, maxBuffer: 1 << 26 }).toString();
  const total = sec(t);
  const rep = JSON.parse(out) as { seconds: number; windows: unknown[]; summary: { distinctTracks: number } };
  console.log(
    `rcopy stats report bench:week --window 1h --format json: ${perWeek(total)} as a process; the report itself ${perWeek(rep.seconds)} (${rep.windows.length} windows, distinct ${rep.summary.distinctTracks})${DAYS === 7 ? `  target < 5 s: ${total < 5 ? 'met' : 'NOT met'}` : ''}`,
  );
  record({
    name: `stats report over ${DAYS} days of 1-minute entries, ${VOLS} volumes (${(size / 1e9).toFixed(2)} GB store), as a process`,
    rcopy: `${total.toFixed(2)} s (the report itself ${rep.seconds.toFixed(2)} s)`,
    peer: `reading the rows only ${readRowsSec.toFixed(2)} s`,
    ratio: (readRowsSec / total).toFixed(2),
    target: DAYS === 7 ? '< 5 s' : '',
    met: DAYS === 7 ? total < 5 : null,
    note: 'ratio = the floor (reading the rows) / the command',
  });
} finally {
  rmSync(home, { recursive: true, force: true });
}
