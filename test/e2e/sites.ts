/** Two-site setups shared by the replication tests. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arrayDirOf, waitFor, type TestHome } from '../helpers.js';

/** A -> B with pairs of `vols` in group g1 (journals A:j1, B:j2), PAIR; `references` sets B:j2's (default auto). */
export async function twoSites(
  h: TestHome,
  opts: { size?: string; journal?: string; mode?: string; blockade?: string; vols?: string[]; durability?: string; references?: 'on' | 'off' | 'auto' } = {},
): Promise<void> {
  const size = opts.size ?? '64M';
  const vols = opts.vols ?? ['v'];
  await h.ok('array', 'create', 'A', '--durability', opts.durability ?? 'fsync');
  await h.ok('array', 'create', 'B', '--durability', opts.durability ?? 'fsync');
  for (const v of vols) {
    await h.ok('volume', 'create', `A:${v}`, '--size', size);
    await h.ok('volume', 'create', `B:${v}`, '--size', size);
  }
  await h.ok('journal', 'create', 'A:j1', '--size', opts.journal ?? '64M', '--blockade-watch', opts.blockade ?? '60s');
  await h.ok('journal', 'create', 'B:j2', '--size', opts.journal ?? '64M', '--blockade-watch', opts.blockade ?? '60s');
  await h.ok('link', 'add', 'A', 'B');
  if (opts.references) await h.ok('journal', 'set', 'B:j2', '--references', opts.references);
  for (const v of vols) await h.ok('pair', 'create', `A:${v}`, `B:${v}`, '--journal', 'A:j1,B:j2', '--mode', opts.mode ?? 'async', '--group', 'g1');
  for (const v of vols) await h.ok('pair', 'wait', `B:${v}`, '--state', 'PAIR', '--timeout', '60s');
}

export async function sums(h: TestHome, ...refs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of refs) out.push((await h.ok('io', 'checksum', r, '--json')).sha256);
  return out;
}

export async function assertEqual(h: TestHome, a: string, b: string, msg?: string): Promise<void> {
  const [x, y] = await sums(h, a, b);
  assert.equal(y, x, msg ?? `${b} differs from ${a}`);
}

/** A -> B (twoSites) and B -> C: B's S-VOL is the P-VOL of the second pair (a cascade), 32 MiB volumes. */
export async function threeSites(h: TestHome, opts: { references?: 'on' | 'off' | 'auto' } = {}): Promise<void> {
  await twoSites(h, { size: '32M', durability: 'none', references: opts.references });
  await h.ok('array', 'create', 'C', '--durability', 'none');
  await h.ok('volume', 'create', 'C:v', '--size', '32M');
  await h.ok('journal', 'create', 'B:j3', '--size', '64M');
  await h.ok('journal', 'create', 'C:j4', '--size', '64M');
  await h.ok('link', 'add', 'B', 'C');
  if (opts.references) await h.ok('journal', 'set', 'C:j4', '--references', opts.references);
  await h.ok('pair', 'create', 'B:v', 'C:v', '--journal', 'B:j3,C:j4', '--wait', '--timeout', '60s');
}

/**
 * Starts a resync of a split pair that is still copying when the next command lands: 32 MiB of new
 * random data on the P-VOL (seed), the link at 1 MB/s, `pair resync --no-wait`, and returns once the
 * copy has written something.
 */
export async function resyncUnderWay(h: TestHome, svol: string, seed: number): Promise<void> {
  const pvol = `A:${svol.split(':')[1]}`;
  await h.ok('io', 'write', pvol, '--pattern', 'random', '--length', '32M', '--seed', String(seed));
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', '1MB/s');
  await h.ok('pair', 'resync', svol, '--no-wait');
  await waitFor(async () => (await h.ok('pair', 'show', svol, '--json')).secondary.copyDone > 0, 60_000);
}

/** The link back at full speed, a resync, the journal drained: the S-VOL must equal the P-VOL. */
export async function resyncToEqual(h: TestHome, pvol: string, svol: string): Promise<void> {
  await h.ok('link', 'set', 'A', 'B', '--bandwidth', 'unlimited');
  await h.ok('pair', 'resync', svol);
  await h.ok('pair', 'wait', svol, '--drained', '--timeout', '60s');
  await assertEqual(h, pvol, svol);
}

/** Restarts an array's controller with a crash point armed (only that process has it), runs `then`, and waits until the controller has killed itself there. */
export async function armFault(h: TestHome, array: string, point: string, then: () => Promise<unknown>): Promise<void> {
  await h.ok('array', 'stop', array);
  const r = await h.run(['array', 'start', array], { env: { RCOPY_FAULT: `${array}:${point}` } });
  assert.equal(r.code, 0, r.stderr);
  await then();
  const log = path.join(arrayDirOf(h, array), 'controller.log');
  await waitFor(() => fs.readFileSync(log, 'utf8').includes(`fault point ${point}`), 60_000);
  await waitFor(async () => !(await h.ok('array', 'status', array, '--json')).running, 30_000);
}
