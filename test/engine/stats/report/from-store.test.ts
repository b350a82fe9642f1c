/** Reports straight from the store: stored entries ORed from their compact forms, one thread or several. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManagementStore } from '../../../../src/engine/array/mgmt-store.js';
import { StatsStore, encodeEntry } from '../../../../src/engine/stats/store.js';
import { buildReport } from '../../../../src/engine/stats/report/build.js';
import type { ReportOptions } from '../../../../src/engine/stats/report/options.js';
import { reportFromStore } from '../../../../src/engine/stats/report/from-store.js';
import type { StatsEntry } from '../../../../src/engine/stats/pb-table.js';
import { entry, testdir } from '../helpers.js';

const M = 60_000;
const T0 = Date.UTC(2026, 0, 1);

test('reportFromStore equals buildReport over the same entries, in one thread and in several', async () => {
  const { dir, cleanup } = testdir();
  try {
    let x = 5;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const size = 20_000;
    const entries: StatsEntry[] = [];
    for (let i = 0; i < 40; i++) {
      for (const v of ['p', 'q', 'r', 's', 't']) {
        if (rnd(5) === 0) continue;
        const kind = rnd(3);
        // sparse random (GAPS in the store), one sequential run (RUNS), dense (RAW)
        const ts = kind === 0 ? Array.from({ length: rnd(300) }, () => rnd(size)) : kind === 1 ? Array.from({ length: 500 }, (_, k) => 3000 + k) : Array.from({ length: 9000 }, () => rnd(size));
        entries.push(entry(v, T0 + i * M + 1000, T0 + (i + 1) * M, ts, { size, writes: i, writeBytes: i * 4096 }));
      }
    }
    const ms = ManagementStore.open(join(dir, 'mgmt.db'), { create: true, durable: false });
    const st = StatsStore.of(ms);
    st.addExternalMembers(
      'g',
      M,
      ['p', 'q', 'r', 's', 't'].map((volume) => ({ volume, tracks: size, trackSize: 65536 })),
    );
    st.addEntries('g', entries.map(encodeEntry));
    st.define([
      {
        name: 'g',
        intervalMs: M,
        volumes: [],
        datasets: [
          { name: 'hot', volume: 'q', startByte: 0, endByte: 4000 * 65536 },
          { name: 'cold', volume: 't', startByte: 10_000 * 65536, endByte: 20_000 * 65536 },
        ],
      },
    ]);
    const encs = new Set((ms.db.prepare('SELECT DISTINCT enc FROM stats_entries').all() as { enc: number }[]).map((r) => r.enc));
    assert.deepEqual([...encs].sort(), [0, 1, 2], 'RAW, RUNS and GAPS are all stored');
    ms.close();
    const ro = StatsStore.openReadOnly(dir);
    const datasets = ro.need('A', 'g').datasets;
    const cases: ReportOptions[] = [
      { windowMs: 10 * M },
      { windowMs: 10 * M, slideMs: 3 * M, by: 'volume' },
      { windowMs: 7 * M, by: 'dataset', datasets },
      { windowMs: 5 * M, fromMs: T0 + 4 * M, toMs: T0 + 33 * M, resyncTimeMs: 60_000, pathSpeed: 1e6, bandwidth: 1e7, overhead: 0.1 },
      { windowMs: 5 * M, fromMs: T0 + 100 * M, toMs: T0 + 120 * M },
    ];
    for (const o of cases) {
      const want = buildReport(entries, { ...o, volumeTracks: ro.volumeSizes('g') });
      for (const threads of [1, 2, 3]) {
        const got = await reportFromStore(ro, 'A', 'g', o, { threads, minEntries: 0 });
        assert.deepEqual(got, want, `${JSON.stringify(o)} with ${threads} thread(s)`);
      }
    }
    ro.close();
  } finally {
    cleanup();
  }
});
