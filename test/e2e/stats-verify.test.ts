/**
 * `rcopy stats simulate --verify` on the MSR samples in test/fixtures: the trace replayed (time
 * compressed) into a scratch pair of real arrays with their controllers, over a shaped link; the
 * peak journal usage measured there agrees with the simulation's range within 10% and the lag p99
 * with its range within 20% (see assertAgree), and a journal too small overflows in both. The scratch home is gone afterwards. The assertions use the
 * figures as the command reports them (--json), and check the tolerance themselves.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { homeTest, TRACES, type TestHome } from '../helpers.js';
import { PULL_BATCH } from '../../src/engine/repl/restore.js';
import { PULL_BATCH_BYTES } from '../../src/engine/stats/simulate/replay.js';

const HM0 = join(TRACES, 'hm_0_first1000writes.csv');
const WDEV = join(TRACES, 'wdev_1.csv');

interface Figures {
  peak: number;
  peakRange: [number, number];
  space: number;
  lagP99: number;
  lagP99Range: [number, number];
  overflow: boolean;
}

/**
 * Issue 22's agreement: the peak journal usage within 10%, lag p99 within 20%, overflow yes/no.
 * The peak journal is the bytes of records written and not yet restored on the secondary, counted
 * from the journals' own seqs, as the simulation counts it. Which writes of a burst a pull round
 * takes is not repeated from run to run: on hm_0 at 8x, the request that falls into the 12-write
 * burst at 16 s (trace time 2 min) takes its first 1-3 writes in some runs and most of it in others,
 * and the rounds after it follow: the real pair peaks at 2.01 MB or at 2.2-2.30 MB (lag p99 about
 * 5.6 s or 6.4 s). The simulation gives both (its rounds wait as the real ones did, each batch
 * restores as one of its size did), so both are predicted as ranges over its simulations, and the
 * measured figures are held to 10% and 20% of the ranges' middle, as the command judges them
 * (checked here too). The ranges are held to 1.25x (their low end to their high): hm_0's two
 * outcomes are 1.15x apart.
 * The master journal's space in use (sampled) is shown beside it, not judged: it is freed only by
 * the first request after a restore, and whether a large batch's restore (20-50 ms for ~1 MB
 * here) ends before the next request 20 ms later decides whether the batch is held one more round
 * (hm_0 at 8x: +0% to +43% over the prediction). It is held to a factor that catches a broken model.
 */
function assertAgree(
  v: { predicted: Figures; measured: Figures; samples: { resolutionMs: number }; link: { waits: { count: number; used: boolean } }; agree: { peak: boolean; lagP99: boolean; all: boolean } },
  what: string,
): void {
  const p = v.predicted;
  const m = v.measured;
  const r = (a: number, b: number): string => (a / b).toFixed(3);
  console.log(
    `# ${what}: peak predicted ${p.peak} (${p.peakRange.join('-')}) measured ${m.peak} (${r(m.peak, p.peakRange[0])} of the low end, ${r(m.peak, p.peakRange[1])} of the high, ${r(2 * m.peak, p.peakRange[0] + p.peakRange[1])} of the middle); ` +
      `lag p99 predicted ${Math.round(p.lagP99)} (${p.lagP99Range.map(Math.round).join('-')}) measured ${Math.round(m.lagP99)} (${r(m.lagP99, p.lagP99Range[0])}, ${r(m.lagP99, p.lagP99Range[1])}, ${r(2 * m.lagP99, p.lagP99Range[0] + p.lagP99Range[1])}); ` +
      `space ${p.space} ${m.space} (${r(m.space, p.space)}); round waits measured ${v.link.waits.count}${v.link.waits.used ? '' : ' (too few: not used)'}`,
  );
  assert.equal(m.overflow, p.overflow, `${what}: overflow predicted ${p.overflow}, measured ${m.overflow}`);
  assert.ok(p.peak > 64 * 1024, `${what}: the journal holds something (${p.peak})`);
  const [lo, hi] = p.peakRange;
  assert.ok(lo <= p.peak && p.peak <= hi && hi <= 1.25 * lo, `${what}: the predicted range holds the prediction and is narrow (${lo}-${hi})`);
  const mid = (lo + hi) / 2;
  assert.ok(Math.abs(m.peak - mid) <= 0.1 * mid, `${what}: peak journal predicted ${p.peak} (${lo}-${hi}), measured ${m.peak}`);
  assert.equal(v.agree.peak, true);
  assert.ok(p.space >= p.peak && m.space >= 0.9 * m.peak, `${what}: the space held is at least the usage (predicted ${p.space} >= ${p.peak}, measured ${m.space} >= ${m.peak})`);
  // (the central simulation's space; a run in another phase holds more: against the peak range's top then)
  assert.ok(m.space >= 0.5 * p.space && m.space <= 1.6 * Math.max(p.space, hi), `${what}: space held predicted ${p.space} (peak up to ${hi}), measured ${m.space}`);
  const [llo, lhi] = p.lagP99Range;
  assert.ok(p.lagP99 > 0 && llo <= p.lagP99 && p.lagP99 <= lhi && lhi <= 1.25 * llo, `${what}: a lag to compare, its range holds it and is narrow (${llo}-${lhi})`);
  const res = v.samples.resolutionMs;
  const lmid = (llo + lhi) / 2;
  assert.ok(Math.abs(m.lagP99 - lmid) <= 0.2 * lmid + res, `${what}: lag p99 predicted ${p.lagP99} (${llo}-${lhi}), measured ${m.lagP99}`);
  assert.equal(v.agree.lagP99, true);
  assert.equal(v.agree.all, true);
}

/** Runs a --verify with --json: exit 0 when the command finds agreement, 3 when it does not. */
async function verifyJson(h: TestHome, ...args: string[]): Promise<any> {
  const r = await h.run(args);
  assert.ok(r.code === 0 || r.code === 3, `rcopy ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  const j = r.json();
  assert.equal(r.code, j.verify.agree.all ? 0 : 3, 'exit 3 exactly when the figures disagree');
  return j;
}

function scratchLeft(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('.verify-'));
}

homeTest('--verify on hm_0 (8x faster) and a busy hour of wdev_1 (100x): the real pair agrees with the simulation', { timeout: 240_000 }, async (h) => {
  assert.equal(PULL_BATCH_BYTES, PULL_BATCH, "the simulation's pull batch is the pull loop's");
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const hm = await verifyJson(h, 'stats', 'simulate', 'S:g', '--trace', HM0, '--format', 'msr', '--bandwidth', '40KB/s', '--journal', '8M', '--verify', '--speedup', '8', '--json');
  assertAgree(hm.verify, 'hm_0');
  assert.equal(hm.verify.measured.overflow, false);
  assert.equal(hm.verify.writes, 1000);
  // the lags are shown in the trace's time: the replay's x 8
  assert.ok(hm.verify.predicted.lagP99 > 8 * hm.verify.link.roundMs);
  const wd = await verifyJson(
    h,
    'stats',
    'simulate',
    'S:g',
    '--trace',
    WDEV,
    '--format',
    'msr',
    '--bandwidth',
    '100B/s',
    '--journal',
    '4M',
    '--from',
    '2007-02-28T10:03:47Z',
    '--to',
    '2007-02-28T11:03:47Z',
    '--verify',
    '--speedup',
    '100',
    '--json',
  );
  assertAgree(wd.verify, 'wdev_1');
  assert.deepEqual(scratchLeft(h.dir), [], 'the scratch home is removed');
  assert.deepEqual(fs.readdirSync(join(h.dir, 'arrays')), ['S'], "the user's arrays are left as they were");
});

homeTest('--verify with a journal too small: both the simulation and the real pair overflow (PFUS)', { timeout: 240_000 }, async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const r = await h.ok('stats', 'simulate', 'S:g', '--trace', HM0, '--format', 'msr', '--bandwidth', '40KB/s', '--journal', '1M', '--verify', '--speedup', '16', '--json');
  assert.equal(r.result.overflow !== null, true, 'the simulation of the trace overflows');
  assert.equal(r.verify.predicted.overflow, true);
  assert.equal(r.verify.measured.overflow, true);
  assert.equal(r.verify.agree.overflow, true);
  const text = await h.run(['stats', 'simulate', 'S:g', '--trace', HM0, '--format', 'msr', '--bandwidth', '40KB/s', '--journal', '1M', '--verify', '--speedup', '16']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /overflow +yes +yes +agrees/);
  assert.deepEqual(scratchLeft(h.dir), []);
});

homeTest('--verify options are checked before anything runs', async (h) => {
  await h.ok('array', 'create', 'S', '--durability', 'none');
  const base = ['stats', 'simulate', 'S:g', '--trace', HM0, '--format', 'msr', '--bandwidth', '40KB/s', '--journal', '8M'];
  await h.fails(2, 'ERR_RCOPY_USAGE', ...base, '--verify', '--speedup', '0');
  await h.fails(2, 'ERR_RCOPY_USAGE', ...base, '--speedup', '8');
  await h.fails(2, 'ERR_RCOPY_USAGE', ...base, '--verify', '--outage', '1h@2007-02-22T17:23:00Z');
  await h.fails(2, /ERR_RCOPY_/, ...base, '--verify', '--volume-size', '1000');
  assert.deepEqual(scratchLeft(h.dir), []);
  assert.deepEqual(fs.readdirSync(join(h.dir, 'arrays')), ['S']);
});
