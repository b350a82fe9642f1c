/**
 * The model and driver of the seeded randomized replication scenario (scenario.test.ts).
 *
 * Two arrays A and B, one journal group `g` of 2 or 3 small volumes, driven through the real CLI and
 * real controllers. The model holds every volume's expected bytes on the writable side (the P-VOLs, or
 * the S-VOLs after a takeover) and the history of the group's checksum tuples: one entry per host write
 * the model adopted, in order, since the last takeover. A step is chosen at random from those that the
 * group's observed state allows (writes, group split / resync / revert, link down and up, takeover with
 * writes on the secondary and resync --swap, delete and re-create, kill -9 of either controller while a
 * write, split or resync runs or while idle). After every step the invariants are checked:
 *   - P: every volume on the writable side has exactly the model's bytes (every acknowledged write is
 *     readable; a write whose command failed or was killed must have left the old or the new bytes,
 *     and the model adopts what is there);
 *   - settled: within a bound the group's pairs reach one common state on each side, the two sides do
 *     not contradict each other (one journaling, the other suspended), and no copy runs;
 *   - one point in time: whenever the secondary is stable (suspended, no copy, no kept image) the tuple
 *     of its S-VOL checksums is one of the history's tuples; right after a split it is the latest one;
 *     right after a revert it is the suspension image; while a group resync is interrupted, an S-VOL
 *     without a kept image still holds the suspension image;
 *   - drained: after `pair wait --group g --state PAIR --drained` succeeds, S == P for every volume.
 * Every failure message names the seed, the step and the recent steps, so a seed reproduces it.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { livePid } from '../../src/engine/array/controller-process.js';
import { Rng } from '../../src/engine/array/workload.js';
import { arrayDirOf, rng, sleep, type RunResult, type TestHome } from '../helpers.js';

export type Side = 'A' | 'B';
const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');
const JOURNAL: Record<Side, string> = { A: 'A:jA', B: 'B:jB' };
const GROUP = 'g';
const TRACK = 65536;
const MiB = 1024 * 1024;
/** Bound on anything that waits for a state (the product's own timers are 1–2 s here). */
const SETTLE_MS = 60_000;
/** Bound on one CLI call: a command that takes longer is reported as hung. */
const CALL_MS = 120_000;

export class ScenarioFailure extends Error {}

/** One pair as both sides report it. */
interface PairObs {
  vol: string;
  pvol: string;
  svol: string;
  p: string;
  s: string;
  resyncing: boolean;
  imageTracks: number;
}

/** What the group is doing, as the step chooser sees it. */
type Kind = 'PAIR' | 'SUSPENDED' | 'INTERRUPTED' | 'SSWS' | 'COPY';

const JOURNALING = new Set(['PAIR', 'PFUL', 'COPY']);
const norm = (s: string): string => (s === 'PFUL' ? 'PAIR' : s);

function sha(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** The expected bytes of the writable side and the history of the group's tuples. */
class Model {
  private hashes: Array<string | null>;
  history: string[] = [];
  constructor(readonly bufs: Buffer[]) {
    this.hashes = bufs.map(() => null);
    this.commit();
  }
  hash(i: number): string {
    return (this.hashes[i] ??= sha(this.bufs[i]!));
  }
  tuple(): string {
    return this.bufs.map((_, i) => this.hash(i)).join(',');
  }
  write(i: number, off: number, data: Buffer): void {
    data.copy(this.bufs[i]!, off);
    this.hashes[i] = null;
    this.commit();
  }
  private commit(): void {
    const t = this.tuple();
    if (this.history[this.history.length - 1] !== t) this.history.push(t);
  }
  /** Index of a tuple in the history, newest first; -1 when it is none of them. */
  find(t: string): number {
    return this.history.lastIndexOf(t);
  }
}

export interface ScenarioOptions {
  seed: number;
  steps: number;
  /** Step kinds never chosen (RCOPY_SCENARIO_SKIP=recreate,killSplit): to look past a known fault. */
  skip?: string[];
  log?: (line: string) => void;
}

export interface ScenarioResult {
  seed: number;
  steps: number;
  kills: number;
  counts: Record<string, number>;
}

export class Scenario {
  private readonly r: () => number;
  private readonly vols: string[] = [];
  private readonly sizes: number[] = [];
  private model!: Model;
  private primary: Side = 'A';
  /** Where host writes go: the primary, or the secondary after a takeover. */
  private writable: Side = 'A';
  private linkDown = false;
  private kind: Kind = 'PAIR';
  /** The tuple of the S-VOLs at the last stable suspension: what a revert must give back. */
  private sImage: string | null = null;
  private stepNo = 0;
  private stepDesc = 'setup';
  private readonly recent: string[] = [];
  private kills = 0;
  private readonly counts: Record<string, number> = {};
  private scratch = 0;

  constructor(
    private readonly h: TestHome,
    private readonly opts: ScenarioOptions,
  ) {
    this.r = rng(opts.seed);
  }

  // ------------------------------------------------------------------ random helpers

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  private weighted(menu: Array<[string, number]>): string {
    const total = menu.reduce((s, [, w]) => s + w, 0);
    let x = this.r() * total;
    for (const [name, w] of menu) if ((x -= w) < 0) return name;
    return menu[menu.length - 1]![0];
  }

  // ------------------------------------------------------------------ reporting

  private readonly t0 = Date.now();
  private note(line: string): void {
    const l = `[seed ${this.opts.seed}] ${((Date.now() - this.t0) / 1000).toFixed(1)}s step ${this.stepNo}: ${line}`;
    this.recent.push(l);
    if (this.recent.length > 14) this.recent.shift();
    this.opts.log?.(l);
  }

  private fail(what: string): never {
    throw new ScenarioFailure(
      `seed ${this.opts.seed}, step ${this.stepNo} (${this.stepDesc}): ${what}\n` +
        `reproduce: RCOPY_SEED=${this.opts.seed} RCOPY_STEPS=${this.opts.steps} node --test dist/test/e2e/scenario.test.js\n` +
        `recent steps:\n  ${this.recent.join('\n  ')}\n` +
        this.logTails(),
    );
  }

  /** The last lines of both controllers' logs, for the failure message. */
  private logTails(): string {
    let out = '';
    for (const side of ['A', 'B'] as const) {
      try {
        const lines = fs
          .readFileSync(path.join(arrayDirOf(this.h, side), 'controller.log'), 'utf8')
          .trimEnd()
          .split('\n');
        out += `controller.log of ${side} (last 25 lines):\n  ${lines.slice(-25).join('\n  ')}\n`;
      } catch {
        /* no log yet */
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ CLI

  private async run(args: string[], timeoutMs = CALL_MS): Promise<RunResult> {
    try {
      return await this.h.run(args, { timeoutMs });
    } catch (e) {
      this.fail(`rcopy ${args.join(' ')} did not return within ${timeoutMs / 1000}s (hung)\n${(e as Error).message}`);
    }
  }

  private async ok(...args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) this.fail(`rcopy ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r;
  }

  private async checksum(ref: string): Promise<string> {
    return (await this.ok('io', 'checksum', ref, '--json')).json().sha256 as string;
  }

  private async tupleOf(side: Side): Promise<string> {
    const out: string[] = [];
    for (const v of this.vols) out.push(await this.checksum(`${side}:${v}`));
    return out.join(',');
  }

  private async readRegion(ref: string, off: number, len: number): Promise<Buffer> {
    const file = path.join(this.h.dir, `read-${this.scratch++}.bin`);
    await this.ok('io', 'read', ref, '--offset', String(off), '--length', String(len), '--out', file);
    const b = fs.readFileSync(file);
    fs.rmSync(file);
    return b;
  }

  private async readVolume(ref: string, size: number): Promise<Buffer> {
    return this.readRegion(ref, 0, size);
  }

  private killController(side: Side): boolean {
    const pid = livePid(arrayDirOf(this.h, side));
    if (pid === null) return false;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return false;
    }
    this.kills++;
    return true;
  }

  /**
   * Runs a command as a child and kill -9's a controller after a random 0–400 ms, counted from the
   * start or (afterCopy) from the moment a copy is seen running (or the command has ended).
   */
  private async withKill(args: string[], victim: Side, afterCopy = false): Promise<{ r: RunResult; delay: number; killed: boolean; seen: boolean }> {
    const delay = this.int(0, 400);
    let done = false;
    const child = this.run(args).finally(() => (done = true));
    let seen = false;
    if (afterCopy) {
      while (!done && !seen) {
        const l = await this.h.run(['pair', 'list', '--json']);
        if (l.code === 0 && /"(pState|sState)": "COPY"/.test(l.stdout)) seen = true;
      }
    }
    await sleep(delay);
    const killed = this.killController(victim);
    const r = await child;
    return { r, delay, killed, seen };
  }

  // ------------------------------------------------------------------ observation

  /** Both sides of every pair: states from one `pair list`, the copy and kept image from `pair show` when suspended. */
  private async observe(): Promise<PairObs[]> {
    const r = await this.run(['pair', 'list', '--json']);
    if (r.code !== 0) this.fail(`pair list exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    const rows = r.json<Array<{ pvol: string; svol: string; pState: string | null; sState: string | null }>>();
    const out: PairObs[] = [];
    for (const v of this.vols) {
      const row = rows.find((x) => x.pvol.split(':')[1] === v);
      if (!row) this.fail(`pair list has no pair of ${v}: ${JSON.stringify(rows)}`);
      out.push({ vol: v, pvol: row.pvol, svol: row.svol, p: row.pState ?? '?', s: row.sState ?? '?', resyncing: false, imageTracks: 0 });
    }
    if (out.some((o) => !JOURNALING.has(o.s) && o.s !== 'SSWS')) {
      for (const o of out) {
        const j = (await this.ok('pair', 'show', o.svol, '--json')).json();
        o.p = j.primary?.state ?? '?';
        o.s = j.secondary?.state ?? '?';
        o.resyncing = Boolean(j.primary?.resyncing || j.secondary?.resyncing);
        o.imageTracks = Number(j.secondary?.imageTracks ?? 0);
      }
    }
    return out;
  }

  private static describe(obs: PairObs[]): string {
    return obs.map((o) => `${o.pvol}->${o.svol} ${o.p}/${o.s}${o.resyncing ? ' resyncing' : ''}${o.imageTracks ? ` image ${o.imageTracks} tr` : ''}`).join('; ');
  }

  /** Why a group is not settled yet, or null when it is. */
  private static unsettled(obs: PairObs[]): string | null {
    for (const o of obs) {
      if (o.p === 'COPY' || o.s === 'COPY' || o.resyncing) return 'a copy is running';
      if (o.p === '?' || o.s === '?') return 'a side is unknown';
      if (o.s !== 'SSWS' && JOURNALING.has(o.p) !== JOURNALING.has(o.s)) return `the sides contradict each other (${o.p}/${o.s})`;
    }
    const p = new Set(obs.map((o) => norm(o.p)));
    const s = new Set(obs.map((o) => norm(o.s)));
    if (p.size > 1 || s.size > 1) return `the group's pairs are in different states`;
    return null;
  }

  /** Waits (bounded) until the group is settled; fails naming the states when it never is. */
  private async settle(): Promise<PairObs[]> {
    const t0 = Date.now();
    let obs = await this.observe();
    let why = Scenario.unsettled(obs);
    while (why !== null) {
      if (Date.now() - t0 > SETTLE_MS) this.fail(`the group did not settle within ${SETTLE_MS / 1000}s: ${why}: ${Scenario.describe(obs)}`);
      await sleep(250);
      obs = await this.observe();
      why = Scenario.unsettled(obs);
    }
    return obs;
  }

  private static classify(obs: PairObs[]): Kind {
    const o = obs[0]!;
    if (o.s === 'SSWS') return 'SSWS';
    if (norm(o.p) === 'PAIR' && norm(o.s) === 'PAIR') return 'PAIR';
    return obs.some((x) => x.imageTracks > 0) ? 'INTERRUPTED' : 'SUSPENDED';
  }

  // ------------------------------------------------------------------ invariants

  /** Every volume on the writable side holds the model's bytes. */
  private async checkWritable(only?: number): Promise<void> {
    for (let i = 0; i < this.vols.length; i++) {
      if (only !== undefined && i !== only) continue;
      const ref = `${this.writable}:${this.vols[i]}`;
      const got = await this.checksum(ref);
      if (got !== this.model.hash(i)) {
        this.fail(`an acknowledged write is not readable: ${ref} checksum ${got.slice(0, 16)}… differs from the model's ${this.model.hash(i).slice(0, 16)}…`);
      }
    }
  }

  /** The S-VOLs are at one point in time of the history. */
  private async checkOnePointInTime(what: string, exact?: string): Promise<string> {
    const sec = other(this.primary);
    const t = await this.tupleOf(sec);
    const idx = this.model.find(t);
    if (exact !== undefined && t !== exact) {
      const at = idx >= 0 ? `history point ${idx} of ${this.model.history.length - 1}` : 'no point of the history (a mix of two points in time)';
      this.fail(`${what}: the S-VOLs are not at the expected image; they are at ${at}; per volume: ${this.diffTuple(t, exact)}`);
    }
    if (idx < 0)
      this.fail(
        `${what}: the S-VOLs of the group are at no single point in time of the primary's history (checked ${this.model.history.length} points); per volume against the latest: ${this.diffTuple(t, this.model.tuple())}`,
      );
    return t;
  }

  private diffTuple(got: string, want: string): string {
    const g = got.split(',');
    const w = want.split(',');
    return this.vols.map((v, i) => `${v} ${g[i] === w[i] ? 'equal' : 'differs'}`).join(', ');
  }

  /** `pair wait --drained` succeeds and then S == P for every volume. */
  private async checkDrained(): Promise<void> {
    const r = await this.run(['pair', 'wait', '--group', GROUP, '--state', 'PAIR', '--drained', '--timeout', '60s']);
    if (r.code !== 0) this.fail(`pair wait --group ${GROUP} --state PAIR --drained did not succeed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    const sec = other(this.primary);
    const t = await this.tupleOf(sec);
    if (t !== this.model.tuple()) {
      const idx = this.model.find(t);
      this.fail(
        `PAIR with the journal drained (pair wait --drained exited 0) but S != P: ${this.diffTuple(t, this.model.tuple())}; the S-VOLs are at ${idx >= 0 ? `history point ${idx} of ${this.model.history.length - 1}` : 'no point of the history'}`,
      );
    }
    this.sImage = null;
  }

  /** After a step: the writable side, then (unless a copy was left running) the settled group. */
  private async afterStep(opts: { drain?: boolean; expectKind?: Kind; exact?: string; leaveCopy?: boolean; only?: number } = {}): Promise<void> {
    if (opts.leaveCopy) {
      // checked after the next step: the copy left running is what that step is meant to hit
      this.kind = 'COPY';
      return;
    }
    await this.checkWritable(opts.only);
    const obs = await this.settle();
    const pv = obs[0]!.pvol.split(':')[0] as Side;
    if (pv !== this.primary) this.fail(`the pairs name ${pv} as the primary, the scenario expects ${this.primary}: ${Scenario.describe(obs)}`);
    const kind = Scenario.classify(obs);
    this.kind = kind;
    this.note(`  -> ${kind}: ${Scenario.describe(obs)}`);
    if (opts.expectKind && kind !== opts.expectKind) this.fail(`expected the group ${opts.expectKind}, it is ${kind}: ${Scenario.describe(obs)}`);
    if (kind === 'SUSPENDED') {
      const t = await this.checkOnePointInTime('suspended and stable', opts.exact);
      this.sImage = t;
    } else if (kind === 'INTERRUPTED') {
      if (this.sImage !== null) {
        // an S-VOL without a kept image must still hold the suspension image: the group switches as a whole
        const want = this.sImage.split(',');
        for (let i = 0; i < this.vols.length; i++) {
          const o = obs[i]!;
          if (o.imageTracks > 0) continue;
          const got = await this.checksum(`${other(this.primary)}:${this.vols[i]}`);
          if (got !== want[i]) {
            this.fail(
              `group resync interrupted: ${o.svol} keeps no image and is no longer at the suspension image while other S-VOLs of the group keep theirs (the group is at two points in time): ${Scenario.describe(obs)}`,
            );
          }
        }
      }
    } else if (kind === 'PAIR') {
      if (opts.drain && !this.linkDown) await this.checkDrained();
    }
  }

  // ------------------------------------------------------------------ setup

  async setup(): Promise<void> {
    const n = this.int(2, 3);
    for (let i = 0; i < n; i++) {
      this.vols.push(`v${i + 1}`);
      this.sizes.push(this.int(2, 4) * MiB);
    }
    // 1–2 s makes a link down suspend within the step; 4 s lets a killed primary come back before the
    // secondary gives up on it, so the scenario goes past that point more often
    const blockade = this.pick(['1s', '2s', '4s']);
    // a slow link keeps a resync running long enough for a link down, a revert or a kill to hit it
    const bandwidth = this.pick(['unlimited', '2MB/s', '1MB/s']);
    this.note(`setup: ${n} volumes (${this.sizes.map((s) => s / MiB + 'M').join(', ')}), blockade watch ${blockade}, link ${bandwidth}`);
    await this.ok('array', 'create', 'A', '--durability', 'fsync');
    await this.ok('array', 'create', 'B', '--durability', 'fsync');
    for (let i = 0; i < n; i++) {
      await this.ok('volume', 'create', `A:${this.vols[i]}`, '--size', String(this.sizes[i]));
      await this.ok('volume', 'create', `B:${this.vols[i]}`, '--size', String(this.sizes[i]));
    }
    await this.ok('journal', 'create', JOURNAL.A, '--size', '16M', '--blockade-watch', blockade);
    await this.ok('journal', 'create', JOURNAL.B, '--size', '16M', '--blockade-watch', blockade);
    await this.ok('link', 'add', 'A', 'B');
    await this.ok('link', 'set', 'A', 'B', '--bandwidth', bandwidth);
    this.model = new Model(this.sizes.map((s) => Buffer.alloc(s)));
    for (const v of this.vols) await this.ok('pair', 'create', `A:${v}`, `B:${v}`, '--journal', `${JOURNAL.A},${JOURNAL.B}`, '--group', GROUP);
    await this.ok('pair', 'wait', '--group', GROUP, '--state', 'PAIR', '--timeout', '60s');
    await this.afterStep({ drain: true, expectKind: 'PAIR' });
  }

  // ------------------------------------------------------------------ steps

  private menu(): Array<[string, number]> {
    if (this.linkDown)
      return [
        ['write', 40],
        ['linkUp', 30],
        ['killWrite', 8],
        ['killIdle', 5],
      ];
    switch (this.kind) {
      case 'PAIR':
        return [
          ['write', 30],
          ['split', 12],
          ['linkDown', 7],
          ['takeover', 5],
          ['recreate', 4],
          ['drain', 8],
          ['killWrite', 8],
          ['killSplit', 6],
          ['killIdle', 4],
        ];
      case 'SUSPENDED':
        return [
          ['write', 20],
          ['bulkWrite', 10],
          ['resync', 10],
          ['resyncNoWait', 12],
          ['revert', 5],
          ['killResync', 12],
          ['killIdle', 3],
          ['recreate', 3],
          ['takeover', 4],
          ['killWrite', 4],
        ];
      case 'INTERRUPTED':
        return [
          ['revert', 15],
          ['resync', 10],
          ['killResync', 5],
          ['write', 10],
          ['killIdle', 3],
        ];
      case 'COPY':
        return [
          ['write', 15],
          ['linkDown', 12],
          ['revert', 12],
          ['killIdle', 15],
          ['waitPair', 15],
        ];
      case 'SSWS':
        return [
          ['write', 30],
          ['writeOld', 6],
          ['swap', 15],
          ['plainResync', 3],
          ['killIdle', 3],
        ];
    }
  }

  async step(): Promise<void> {
    this.stepNo++;
    const menu = this.menu().filter(([n]) => !this.opts.skip?.includes(n));
    const name = this.weighted(menu.length ? menu : this.menu());
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    this.stepDesc = `${name} in ${this.kind}${this.linkDown ? ' (link down)' : ''}`;
    this.note(this.stepDesc);
    switch (name) {
      case 'write':
        return this.doWrite(false);
      case 'bulkWrite':
        return this.doWrite(false, true);
      case 'writeOld':
        return this.doWriteOld();
      case 'killWrite':
        return this.doWrite(true);
      case 'split':
        return this.doSplit(false);
      case 'killSplit':
        return this.doSplit(true);
      case 'resync':
        return this.doResync('wait');
      case 'resyncNoWait':
        return this.doResync('nowait');
      case 'killResync':
        return this.doResync('kill');
      case 'revert':
        return this.doRevert();
      case 'linkDown':
        return this.doLinkDown();
      case 'linkUp':
        return this.doLinkUp();
      case 'takeover':
        return this.doTakeover();
      case 'swap':
        return this.doSwap();
      case 'plainResync':
        return this.doPlainResyncRefused();
      case 'recreate':
        return this.doRecreate();
      case 'drain':
        return this.afterStep({ drain: true });
      case 'waitPair':
        return this.doWaitPair();
      case 'killIdle':
        return this.doKillIdle();
    }
    throw new Error(`unknown step ${name}`);
  }

  /** A small host write on the writable side (sometimes crossing tracks), optionally with a kill -9. */
  private async doWrite(kill: boolean, bulk = false): Promise<void> {
    const i = this.int(0, this.vols.length - 1);
    const size = this.sizes[i]!;
    // a bulk write (while suspended) gives the next resync seconds of work on the slow link
    const len = bulk ? this.int(4, 24) * TRACK : this.pick([512, 4096, 65536, this.int(1, 200) * 512, this.int(1, 300_000)]);
    let off: number;
    if (this.r() < 0.4) {
      // across a track boundary
      const boundary = this.int(1, size / TRACK - 1) * TRACK;
      off = Math.max(0, Math.min(size - len, boundary - this.int(1, Math.min(len, TRACK))));
    } else off = this.int(0, Math.floor((size - len) / 512)) * 512;
    const data = Buffer.alloc(len);
    const args = ['io', 'write', `${this.writable}:${this.vols[i]}`, '--offset', String(off), '--length', String(len)];
    if (this.r() < 0.5) {
      const byte = this.int(1, 255);
      data.fill(byte);
      args.push('--pattern', `0x${byte.toString(16).padStart(2, '0')}`);
    } else {
      const seed = this.int(1, 1_000_000);
      new Rng(seed).fill(data);
      args.push('--pattern', 'random', '--seed', String(seed));
    }
    const ref = `${this.writable}:${this.vols[i]}`;
    if (!kill) {
      this.note(`  io write ${ref} off ${off} len ${len}`);
      await this.ok(...args);
      this.model.write(i, off, data);
      return this.afterStep({ only: i });
    }
    const victim = this.r() < 0.7 ? this.writable : other(this.writable);
    const { r, delay, killed } = await this.withKill(args, victim);
    this.note(`  io write ${ref} off ${off} len ${len}, kill -9 ${victim} after ${delay} ms (${killed ? 'killed' : 'not running'}): exit ${r.code}`);
    if (r.code === 0) this.model.write(i, off, data);
    else {
      // uncertain: the region must be the old or the new bytes; adopt what is there
      const got = await this.readRegion(ref, off, len);
      const old = this.model.bufs[i]!.subarray(off, off + len);
      if (got.equals(data)) {
        this.note('  the failed write is there: adopted');
        this.model.write(i, off, data);
      } else if (!got.equals(old)) {
        let n = 0;
        for (let k = 0; k < len; k++) if (got[k] !== old[k] && got[k] !== data[k]) n++;
        this.fail(`a write killed part way left ${ref} [${off}, +${len}) neither old nor new (torn; ${n} bytes match neither)`);
      } else this.note('  the failed write is not there');
    }
    return this.afterStep();
  }

  /** After a takeover, a write on the old primary: the swap must overwrite it. */
  private async doWriteOld(): Promise<void> {
    const i = this.int(0, this.vols.length - 1);
    const ref = `${this.primary}:${this.vols[i]}`;
    const off = this.int(0, this.sizes[i]! / 512 - 128) * 512;
    const r = await this.run(['io', 'write', ref, '--offset', String(off), '--length', '64k', '--pattern', '0xee']);
    this.note(`  io write ${ref} (old primary, to be overwritten by the swap) off ${off}: exit ${r.code}`);
    return this.afterStep();
  }

  private async doSplit(kill: boolean): Promise<void> {
    const args = ['pair', 'split', '--group', GROUP];
    if (!kill) {
      await this.ok(...args);
      return this.afterStep({ expectKind: 'SUSPENDED', exact: this.model.tuple() });
    }
    const victim = this.pick(['A', 'B'] as const);
    const { r, delay, killed } = await this.withKill(args, victim);
    this.note(`  split, kill -9 ${victim} after ${delay} ms (${killed ? 'killed' : 'not running'}): exit ${r.code}`);
    return this.afterStep();
  }

  private async doResync(how: 'wait' | 'nowait' | 'kill'): Promise<void> {
    const args = ['pair', 'resync', '--group', GROUP, '--timeout', '90s'];
    if (how === 'wait') {
      await this.ok(...args);
      return this.afterStep({ expectKind: 'PAIR', drain: true });
    }
    await this.linkSpeed();
    // work for the resync on every volume, uneven, so that one pair can finish before another
    if (this.r() < 0.8) await this.bulkWrites();
    if (how === 'nowait') {
      await this.ok('pair', 'resync', '--group', GROUP, '--no-wait');
      return this.afterStep({ leaveCopy: true });
    }
    const victim = this.pick(['A', 'B'] as const);
    const { r, delay, killed, seen } = await this.withKill(args, victim, this.r() < 0.7);
    this.note(`  resync, kill -9 ${victim} ${delay} ms after ${seen ? 'the copy was seen running' : 'the start'} (${killed ? 'killed' : 'not running'}): exit ${r.code}`);
    return this.afterStep({ drain: true });
  }

  /** Acknowledged bulk writes of 1–16 tracks on each volume (while suspended: they land in the bitmaps). */
  private async bulkWrites(): Promise<void> {
    const done: string[] = [];
    for (let i = 0; i < this.vols.length; i++) {
      const size = this.sizes[i]!;
      const len = Math.min(size, this.int(1, 16) * TRACK);
      const off = this.int(0, (size - len) / TRACK) * TRACK;
      const seed = this.int(1, 1_000_000);
      const data = Buffer.alloc(len);
      new Rng(seed).fill(data);
      await this.ok('io', 'write', `${this.writable}:${this.vols[i]}`, '--offset', String(off), '--length', String(len), '--pattern', 'random', '--seed', String(seed));
      this.model.write(i, off, data);
      done.push(`${this.vols[i]} ${len / TRACK} tr`);
    }
    this.note(`  bulk writes: ${done.join(', ')}`);
  }

  /** A new link speed before a resync: slow enough, often, that the next step (or the kill) hits the running copy. */
  private async linkSpeed(): Promise<void> {
    const bw = this.r() < 0.6 ? this.pick(['128kB/s', '256kB/s', '512kB/s']) : this.pick(['unlimited', '2MB/s']);
    await this.ok('link', 'set', 'A', 'B', '--bandwidth', bw);
    this.note(`  link A B at ${bw}`);
  }

  private async doRevert(): Promise<void> {
    const r = await this.run(['pair', 'revert', '--group', GROUP, '--yes']);
    this.note(`  revert: exit ${r.code} ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    if (r.code === 0) return this.afterStep({ expectKind: 'SUSPENDED', exact: this.sImage ?? undefined });
    if (r.code !== 1 || !(r.stdout + r.stderr).includes('ERR_RCOPY_STATE')) this.fail(`pair revert refused without ERR_RCOPY_STATE (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return this.afterStep();
  }

  private async doLinkDown(): Promise<void> {
    await this.ok('link', 'down', 'A', 'B');
    this.linkDown = true;
    const r = await this.run(['pair', 'wait', '--group', GROUP, '--state', 'PSUE', '--timeout', '60s']);
    this.note(`  link down; pair wait --state PSUE: exit ${r.code}`);
    if (r.code !== 0) this.fail(`the group did not reach PSUE within 60s of link down (blockade watch 1–2 s): ${(r.stderr || r.stdout).trim()}`);
    return this.afterStep();
  }

  private async doLinkUp(): Promise<void> {
    await this.ok('link', 'up', 'A', 'B');
    this.linkDown = false;
    return this.afterStep();
  }

  private async doTakeover(): Promise<void> {
    await this.ok('pair', 'takeover', '--group', GROUP, '--yes');
    await this.afterStep({ expectKind: 'SSWS' });
    // the S-VOLs become the writable side: they must be at one point in time, then the model follows them
    const sec = other(this.primary);
    const t = await this.checkOnePointInTime('after takeover');
    const bufs: Buffer[] = [];
    for (let i = 0; i < this.vols.length; i++) bufs.push(await this.readVolume(`${sec}:${this.vols[i]}`, this.sizes[i]!));
    this.model = new Model(bufs);
    if (this.model.tuple() !== t) this.fail(`io read of the S-VOLs after takeover disagrees with io checksum`);
    this.writable = sec;
    this.sImage = null;
    this.note(`  took over: ${sec} is writable, new history`);
  }

  private async doSwap(): Promise<void> {
    await this.ok('pair', 'resync', '--group', GROUP, '--swap', '--timeout', '90s');
    this.primary = this.writable;
    this.note(`  swapped: ${this.primary} is the primary`);
    return this.afterStep({ expectKind: 'PAIR', drain: true });
  }

  private async doPlainResyncRefused(): Promise<void> {
    const r = await this.run(['pair', 'resync', '--group', GROUP]);
    if (r.code !== 1 || !/ERR_RCOPY_STATE.*--swap/.test(r.stdout + r.stderr))
      this.fail(`a plain resync in SSWS was not refused with ERR_RCOPY_STATE naming --swap (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return this.afterStep();
  }

  private async doRecreate(): Promise<void> {
    const p = this.primary;
    const s = other(p);
    await this.ok('pair', 'delete', '--group', GROUP, '--yes');
    for (const v of this.vols) await this.ok('pair', 'create', `${p}:${v}`, `${s}:${v}`, '--journal', `${JOURNAL[p]},${JOURNAL[s]}`, '--group', GROUP);
    const r = await this.run(['pair', 'wait', '--group', GROUP, '--state', 'PAIR', '--timeout', '60s']);
    if (r.code !== 0) this.fail(`a deleted and re-created group did not reach PAIR within 60s (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    this.sImage = null;
    return this.afterStep({ expectKind: 'PAIR', drain: true });
  }

  private async doWaitPair(): Promise<void> {
    const r = await this.run(['pair', 'wait', '--group', GROUP, '--state', 'PAIR', '--timeout', '60s']);
    this.note(`  pair wait --state PAIR: exit ${r.code}`);
    return this.afterStep({ drain: r.code === 0 });
  }

  private async doKillIdle(): Promise<void> {
    const victim = this.pick(['A', 'B'] as const);
    const delay = this.int(0, 400);
    await sleep(delay);
    const killed = this.killController(victim);
    this.note(`  kill -9 ${victim} after ${delay} ms (${killed ? 'killed' : 'not running'})`);
    return this.afterStep({ drain: this.kind === 'PAIR' });
  }

  /** Brings the group back to PAIR (link up, swap or resync as needed) and checks S == P. */
  async finish(): Promise<ScenarioResult> {
    this.stepNo++;
    this.stepDesc = 'finish';
    this.note('finish: back to PAIR, drained, S == P');
    if (this.linkDown) await this.doLinkUp();
    if (this.kind === 'COPY') await this.afterStep();
    if (this.kind === 'SSWS') await this.doSwap();
    else if (this.kind === 'SUSPENDED' || this.kind === 'INTERRUPTED') await this.doResync('wait');
    else await this.afterStep({ expectKind: 'PAIR', drain: true });
    await this.checkDrained();
    return { seed: this.opts.seed, steps: this.stepNo, kills: this.kills, counts: this.counts };
  }

  async runAll(): Promise<ScenarioResult> {
    await this.setup();
    for (let k = 0; k < this.opts.steps; k++) await this.step();
    return this.finish();
  }
}

/** Runs one seed; assertion failures carry the seed. */
export async function runScenario(h: TestHome, opts: ScenarioOptions): Promise<ScenarioResult> {
  const s = new Scenario(h, opts);
  try {
    return await s.runAll();
  } catch (e) {
    if (e instanceof ScenarioFailure) throw e;
    assert.fail(`seed ${opts.seed}: ${(e as Error).stack ?? e}`);
  }
}
