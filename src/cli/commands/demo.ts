/**
 * rcopy demo: the tour, on a throw-away home. Each step runs the same command functions the CLI
 * runs, prints what it did, and at the end every controller it started is stopped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliContext } from '../context.js';
import type { Output } from '../output.js';
import { render } from '../output.js';
import { colors } from '../ui.js';

type Step = { title: string; argv: string; run: (ctx: CliContext) => Promise<Output> };

export async function demo(ctx: CliContext, _args: unknown[], opts: Record<string, any>): Promise<Output> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-demo-'));
  const dctx: CliContext = { ...ctx, home, format: 'table', interactive: false, yes: true, progress: false };
  const c = await colors(ctx);
  const quiet = ctx.format !== 'table';
  const log: Array<{ step: string; command: string; seconds: number }> = [];
  const print = (s: string): void => {
    if (!quiet) process.stdout.write(`${s}\n`);
  };
  const array = await import('./array.js');
  const volume = await import('./volume.js');
  const io = await import('./io.js');
  const steps: Step[] = [
    { title: 'Two arrays: the primary site and the secondary site', argv: 'array create siteA --serial 64015', run: (x) => array.create(x, ['siteA'], { serial: '64015' }) },
    { title: '', argv: 'array create siteB --serial 64016', run: (x) => array.create(x, ['siteB'], { serial: '64016' }) },
    { title: 'A 256 MiB volume on each (sparse image files)', argv: 'volume create siteA:db --size 256M', run: (x) => volume.create(x, ['siteA:db'], { size: '256M' }) },
    { title: '', argv: 'volume create siteB:db-copy --size 256M', run: (x) => volume.create(x, ['siteB:db-copy'], { size: '256M' }) },
    { title: 'Host I/O: a 4 MiB write, then a 3-second zipf workload inside the controller', argv: 'io write siteA:db --offset 1M --pattern random --length 4M --seed 7', run: (x) => io.write(x, ['siteA:db'], { offset: '1M', pattern: 'random', length: '4M', seed: '7' }) },
    { title: '', argv: 'workload run siteA:db --pattern zipf --bs 64k --rate 40MB/s --duration 3s', run: (x) => io.workload(x, [['siteA:db']], { pattern: 'zipf', bs: '64k', rate: '40MB/s', duration: '3s', seed: '1' }) },
    { title: 'What was written: only the touched tracks are allocated', argv: 'volume list siteA', run: (x) => volume.list(x, ['siteA'], {}) },
    { title: '', argv: 'io checksum siteA:db', run: (x) => io.checksum(x, ['siteA:db'], {}) },
    { title: 'The controllers', argv: 'array list', run: (x) => array.list(x, [], {}) },
  ];
  try {
    for (const s of steps) {
      if (s.title) print(`\n${c.bold(`▸ ${s.title}`)}`);
      print(c.dim(`$ rcopy ${s.argv}`));
      const t0 = performance.now();
      const out = await s.run(dctx);
      log.push({ step: s.title, command: `rcopy ${s.argv}`, seconds: Math.round(performance.now() - t0) / 1000 });
      print(await render(out, 'table', ctx.color));
    }
  } finally {
    await array.stop(dctx, [], { all: true });
    if (!opts.keep) fs.rmSync(home, { recursive: true, force: true });
  }
  const next = [
    'rcopy array create mysite',
    'rcopy volume create mysite:vol1 --size 1G',
    'rcopy workload run mysite:vol1 --pattern random --duration 10s',
    'rcopy help pair create',
  ];
  return {
    data: { home: opts.keep ? home : null, steps: log },
    text: `\n${c.bold('Try next:')}\n${next.map((n) => `  ${n}`).join('\n')}${opts.keep ? `\n\n(the demo home is kept at ${home}; use RCOPY_HOME=${home})` : ''}`,
  };
}
