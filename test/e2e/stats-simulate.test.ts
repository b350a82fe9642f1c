/**
 * `rcopy stats simulate` through the real CLI on the MSR sample traces: the figures it reports agree
 * with what the trace says when counted independently here, a small journal overflows and names the
 * resync, the collection gives the same writes as the trace it was imported from, and bad options are
 * refused with their error codes before anything is read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homeTest, TRACES } from '../helpers.js';

const WDEV = join(TRACES, 'wdev_1.csv');

/** A cell of --solve's table of bandwidth x journal (--json). */
interface Cell {
  bandwidth: number;
  journal: number;
  withinRpo: number;
  lagMax: number;
  overflow: boolean;
  met: boolean;
}

/** The writes of an MSR CSV file, counted here without rcopy's reader (ms: epoch ms). */
function msrWrites(file: string): Array<{ len: number; off: number; ms: number }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split(','))
    .filter((f) => f[3] === 'Write')
    .map((f) => ({ off: Number(f[4]), len: Number(f[5]), ms: Number(BigInt(f[0]!) / 10_000n) - 11_644_473_600_000 }));
}

homeTest('stats simulate on wdev_1: every byte with 80-byte headers padded to 512, distinct tracks, no overflow on a big journal', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const sim = await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '100Mb/s', '--journal', '64G', '--rpo', '5m', '--latency', '20ms', '--json');
  const writes = msrWrites(WDEV);
  assert.equal(sim.result.writes, 1055);
  assert.equal(sim.result.writeBytes, 5_537_792);
  assert.equal(
    sim.result.journalBytes,
    writes.reduce((n, w) => n + Math.ceil((80 + w.len) / 512) * 512, 0),
  );
  assert.equal(sim.distinct.tracks, 27); // the figure in test/fixtures/traces/README.md
  assert.equal(sim.result.overflow, null);
  assert.equal(sim.result.lag.withinRpo, 1);
  assert.ok(sim.result.lag.max >= 20 && sim.result.lag.max < 1000, `a send and one latency: ${sim.result.lag.max}`);
  assert.equal(sim.layout.recordHeader, 80);
  assert.equal(sim.absorbs.atLeast, true); // 64 GiB holds the whole week
  const text = await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '100Mb/s', '--journal', '64G');
  assert.match(text, /link 100 Mb\/s \(12\.5 MB\/s\)/);
  assert.match(text, /overflow \(PFUS\): no/);
  assert.match(text, /assumptions:/);
});

homeTest('a journal smaller than the busiest burst overflows: PFUS with its time and the resync at the link rate', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const sim = await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '8kb/s', '--journal', '64k', '--json');
  const o = sim.result.overflow;
  assert.ok(o, 'overflows');
  assert.ok(o.at >= sim.result.start && o.at <= sim.result.end);
  assert.ok(o.resyncTracks >= 1 && o.resyncTracks <= 27);
  assert.equal(o.resyncBytes, o.resyncTracks * 65536);
  assert.equal(o.resyncMs, (o.resyncBytes * 1000) / 1000); // 8 kb/s = 1000 B/s
  assert.ok(sim.result.firstOverHighWater !== null && sim.result.firstOverHighWater <= o.at);
  const solved = await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '8kb/s', '--journal', '64k', '--rpo', '1m', '--solve', '--json');
  const s = solved.solve;
  assert.ok(s.always > 0 && s.p99 <= s.always && s.p90 <= s.p99, JSON.stringify(s));
  // the least bandwidth meets the RPO always; 2% less does not (bisection to 0.5%)
  const at = async (bw: number) => (await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', `${bw}B/s`, '--journal', '64k', '--rpo', '1m', '--json')).result;
  const met = await at(s.always * 1.001);
  assert.ok(met.overflow === null && met.lag.max <= 60_000);
  const under = await at(s.always * 0.98);
  assert.ok(under.overflow !== null || under.lag.max > 60_000);
  // the table of bandwidth x journal (1/4x to 4x the journal given): the cell of the given link and journal is the plain
  // run's, a cell is met exactly when it never overflows and the lag stays within the RPO, and the least bandwidth meets it
  const plain = (await h.ok('stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '8kb/s', '--journal', '64k', '--rpo', '1m', '--json')).result;
  const cells: Cell[] = s.table.flat();
  assert.deepEqual([...new Set(cells.map((c) => c.journal))], [16384, 32768, 65536, 131072, 262144]);
  const given = cells.find((c) => c.bandwidth === 1000 && c.journal === 65536)!;
  assert.deepEqual([given.overflow, given.lagMax], [plain.overflow !== null, plain.lag.max]);
  assert.ok(Math.abs(given.withinRpo - plain.lag.withinRpo) < 1e-3, `${given.withinRpo} ${plain.lag.withinRpo} (the table takes fewer lag samples)`);
  for (const c of cells) assert.equal(c.met, !c.overflow && c.lagMax <= 60_000, JSON.stringify(c));
  // (the table's bandwidths are round: the least one at or above the solved one meets the RPO)
  const above = cells.filter((c) => c.journal === 65536 && c.bandwidth >= s.always).sort((a, b) => a.bandwidth - b.bandwidth)[0];
  assert.equal(above?.met, true, JSON.stringify(above));
});

homeTest('from the collection: the writes of an imported trace, at their average size', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  await h.ok('stats', 'import', 'S:g', '--trace', WDEV, '--format', 'msr', '--interval', '1m');
  const sim = await h.ok('stats', 'simulate', 'S:g', '--bandwidth', '100Mb/s', '--journal', '1G', '--json');
  assert.equal(sim.result.writes, 1055);
  assert.ok(Math.abs(sim.result.writeBytes - 5_537_792) < 1055, `${sim.result.writeBytes}`);
  assert.equal(sim.source.collection, 'S:g');
});

homeTest('bad options are refused before reading: missing bandwidth, bad outage, unknown device, strict on a bad line', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const t = ['stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr'];
  await h.fails(2, 'ERR_RCOPY_USAGE', ...t, '--journal', '1G');
  await h.fails(2, 'ERR_RCOPY_BAD_RATE', ...t, '--journal', '1G', '--bandwidth', 'fast');
  await h.fails(2, 'ERR_RCOPY_USAGE', ...t, '--journal', '1G', '--bandwidth', '1Mb/s', '--outage', '2h');
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', ...t, '--journal', '1G', '--bandwidth', '1Mb/s', '--device', 'nosuch_9');
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'stats', 'simulate', 'S:g', '--bandwidth', '1Mb/s', '--journal', '1G'); // no trace, no collection
  const one = await h.ok(...t, '--journal', '1G', '--bandwidth', '1Mb/s', '--device', 'wdev_1', '--json');
  assert.equal(one.result.writes, 1055);
  const bad = join(h.tempDir(), 'bad.csv');
  const lines = readFileSync(WDEV, 'utf8').split('\n');
  lines.splice(3, 0, '128166372000000000,wdev,1,Write,notanumber,4096,10');
  (await import('node:fs')).writeFileSync(bad, lines.join('\n'));
  const r = await h.fails(
    3,
    /ERR_RCOPY_BAD_TRACE[\s\S]*line 4|line 4[\s\S]*ERR_RCOPY_BAD_TRACE/,
    'stats',
    'simulate',
    'S:g',
    '--trace',
    bad,
    '--format',
    'msr',
    '--bandwidth',
    '1Mb/s',
    '--journal',
    '1G',
    '--strict',
  );
  assert.ok(r);
  const lenient = await h.ok('stats', 'simulate', 'S:g', '--trace', bad, '--format', 'msr', '--bandwidth', '1Mb/s', '--journal', '1G', '--json');
  assert.equal(lenient.source.malformed, 1);
});

homeTest('the new formats through the CLI: a gzipped FIU trace simulated with its duplicate estimate, a Tencent trace imported', async (h) => {
  const { asFiu, asTencent } = await import('../engine/stats/traces/layouts.js');
  const { gzipSync } = await import('node:zlib');
  const { writeFileSync } = await import('node:fs');
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const recs = readFileSync(WDEV, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(','))
    .map((f) => ({ us: (BigInt(f[0]!) - 116444736000000000n) / 10n, device: '1', write: f[3] === 'Write', offset: Math.floor(Number(f[4]) / 512) * 512, size: Math.ceil(Number(f[5]) / 512) * 512 }));
  const dir = h.tempDir();
  writeFileSync(join(dir, 'fiu.txt.gz'), gzipSync(asFiu(recs)));
  writeFileSync(join(dir, 'cbs.csv'), asTencent(recs));
  const sim = await h.ok('stats', 'simulate', 'S:g', '--trace', join(dir, 'fiu.txt.gz'), '--format', 'fiu', '--bandwidth', '10Mb/s', '--journal', '1G', '--json');
  assert.equal(sim.result.writes, 1055);
  assert.equal(sim.source.gzip, true);
  assert.ok(sim.source.duplicateWrites > 0 && sim.source.duplicateBytes > 0);
  const text = await h.ok('stats', 'simulate', 'S:g', '--trace', join(dir, 'fiu.txt.gz'), '--format', 'fiu', '--bandwidth', '10Mb/s', '--journal', '1G');
  assert.match(text, /content digests: .* sent as references they would save/);
  const imp = await h.ok('stats', 'import', 'S:cbs', '--trace', join(dir, 'cbs.csv'), '--format', 'tencent', '--json');
  assert.equal(imp.writes, 1055);
  assert.equal(imp.malformed, 0);
});

homeTest('--outage: the journal holds every write made while the link is down, the lag grows to the outage', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const base = ['stats', 'simulate', 'S:g', '--trace', WDEV, '--format', 'msr', '--bandwidth', '100Mb/s', '--journal', '64G', '--rpo', '5m', '--json'];
  const start = Date.parse('2007-02-23T10:00:00Z');
  const end = start + 2 * 3600_000;
  const down = await h.ok(...base, '--outage', '2h@2007-02-23T10:00Z');
  assert.deepEqual([down.params.outage.start, down.params.outage.ms], [start, 2 * 3600_000]);
  // counted here: each write's records (80-byte header, padded to 512) made while the link is down
  const during = msrWrites(WDEV).filter((w) => w.ms >= start && w.ms < end);
  assert.ok(during.length > 10, `writes in the outage: ${during.length}`);
  const held = during.reduce((n, w) => n + Math.ceil((80 + w.len) / 512) * 512, 0);
  // at 100 Mb/s the journal is empty when the link goes down and drains at once after it
  assert.equal(down.result.peak.bytes, held, 'the peak is what was written during the outage');
  assert.ok(down.result.peak.at >= start && down.result.peak.at < end);
  const firstLag = end - during[0]!.ms;
  assert.ok(Math.abs(down.result.lag.max - firstLag) < 1000, `lag max ${down.result.lag.max} vs the first write's wait ${firstLag}`);
  assert.ok(down.result.lag.withinRpo < 1);
  const up = await h.ok(...base);
  assert.ok(up.result.peak.bytes < held / 2 && up.result.lag.withinRpo === 1, 'without the outage the journal stays small');
});
