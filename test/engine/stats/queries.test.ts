/** What the CLI asks the engine about an array's statistics, read-only: the groups and a group's report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RcopyError } from '../../../src/errors.js';
import { ManagementStore } from '../../../src/engine/array/mgmt-store.js';
import { StatsStore, encodeEntry } from '../../../src/engine/stats/store.js';
import { listGroups } from '../../../src/engine/stats/queries.js';
import { buildReport } from '../../../src/engine/stats/report/build.js';
import { reportOfArrayGroup } from '../../../src/engine/stats/report/from-store.js';
import { entry, testdir } from './helpers.js';

const M = 60_000;
const T0 = Date.UTC(2026, 0, 1);

test("listGroups and reportOfArrayGroup read the store read-only: the groups, and the report with the group's data sets", async () => {
  const { dir, cleanup } = testdir();
  try {
    const entries = [0, 1, 2, 3].map((i) => entry('d', T0 + i * M, T0 + (i + 1) * M, [i, 10 + i, 700]));
    const ms = ManagementStore.open(join(dir, 'mgmt.db'), { create: true, durable: false });
    const st = StatsStore.of(ms);
    st.addExternalMembers('g', M, [{ volume: 'd', tracks: 1024, trackSize: 65536 }]);
    st.addEntries('g', entries.map(encodeEntry));
    st.define([{ name: 'g', intervalMs: M, volumes: [], datasets: [{ name: 'low', volume: 'd', startByte: 0, endByte: 100 * 65536 }] }]);
    st.addExternalMembers('bare', M, [{ volume: 'e', tracks: 64, trackSize: 65536 }]);
    ms.close();

    assert.deepEqual(
      listGroups(dir)
        .map((g) => [g.name, g.entries])
        .sort(),
      [
        ['bare', 0],
        ['g', 4],
      ],
    );

    const rep = await reportOfArrayGroup(dir, 'A', 'g', { windowMs: 2 * M, by: 'dataset' }, '--window 2m');
    const datasets = [{ name: 'low', volume: 'd', startByte: 0, endByte: 100 * 65536 }];
    assert.deepEqual(rep, buildReport(entries, { windowMs: 2 * M, by: 'dataset', datasets, volumeTracks: new Map([['d', 1024]]) }));
    assert.equal(rep.groups[0]!.summary.distinctTracks, 8);

    await assert.rejects(
      reportOfArrayGroup(dir, 'A', 'bare', { windowMs: M, by: 'dataset' }, '--window 1m'),
      (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_USAGE' && /has no data sets/.test(e.message),
    );
    await assert.rejects(
      reportOfArrayGroup(dir, 'A', 'g', { windowMs: 0.1 }, '--window 0.1ms'),
      (e: unknown) =>
        e instanceof RcopyError &&
        e.code === 'ERR_RCOPY_OUT_OF_RANGE' &&
        e.message.startsWith('--window 0.1ms places 2,400,000 windows from 2026-01-01T00:00:00.000Z to 2026-01-01T00:04:00.000Z: at most 1,000,000'),
    );
  } finally {
    cleanup();
  }
});
