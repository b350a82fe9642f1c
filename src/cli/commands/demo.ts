/**
 * rcopy demo: the tour of everything rcopy does, on a throw-away home, in well under a minute.
 * Each step is an ordinary rcopy command line, run through the same command tree as the CLI, so
 * what the tour prints is what the user will see. Every controller it starts is stopped at the end.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { newProgram } from '../program-factory.js';
import { colors } from '../render/progress.js';

interface Step {
  title?: string;
  argv: string;
  /** A real client's command instead of an rcopy one (the NBD step). */
  client?: boolean;
  /** The S-VOL range that must now hold the NBD image (recorded in the demo's data). */
  verify?: string;
}

function steps(home: string): Step[] {
  const svg = path.join(home, 'bandwidth.svg');
  return [
    { title: 'Two arrays, the primary site and the disaster-recovery site', argv: 'array create siteA --serial 64015' },
    { argv: 'array create siteB --serial 64016' },
    { title: 'Sparse volumes, a journal on each side, and a 200 MB/s link with 2 ms latency', argv: 'volume create siteA:db --size 256M' },
    { argv: 'volume create siteB:db --size 256M' },
    { argv: 'volume create siteB:db-backup --size 256M' },
    { argv: 'journal create siteA:j1 --size 64M' },
    { argv: 'journal create siteB:j2 --size 64M' },
    { argv: 'link add siteA siteB --bandwidth 200MB/s --latency 2ms' },
    { title: 'Some data on the primary, then a pair: the initial copy moves only written tracks', argv: 'io write siteA:db --offset 8M --pattern random --length 24M --seed 7' },
    { argv: 'pair create siteA:db siteB:db --journal siteA:j1,siteB:j2 --group payroll --wait' },
    { title: 'PB-bit statistics on the primary while a host workload runs; siteB pulls the journal', argv: 'stats define siteA:oltp --volumes db --interval 1s' },
    { argv: 'stats start siteA:oltp --interval 1s' },
    { argv: 'workload run siteA:db --pattern zipf --bs 64k --rate 40MB/s --duration 4s' },
    { argv: 'stats collect siteA:oltp' },
    { argv: 'pair wait siteB:db --state PAIR --drained --timeout 60s' },
    { argv: 'pair list' },
    ...nbdSteps(home),
    { title: 'Both sides are equal, bit for bit', argv: 'io checksum siteA:db' },
    { argv: 'io checksum siteB:db' },
    { title: 'A planned split: changes go to the differential bitmap; resync copies only those tracks', argv: 'pair split siteB:db' },
    { argv: 'workload run siteA:db --pattern random --bs 64k --bytes 8M --seed 3' },
    { argv: 'pair list' },
    { argv: 'pair resync siteB:db' },
    { title: 'Disaster: take over on siteB, write there, then reverse the direction with --swap', argv: 'pair takeover siteB:db --yes' },
    { argv: 'io write siteB:db --offset 100M --pattern 0x5a --length 2M' },
    { argv: 'pair resync siteB:db --swap' },
    { argv: 'pair wait siteA:db --state PAIR --drained --timeout 60s' },
    { title: 'Fail back: take over on siteA and swap again', argv: 'pair takeover siteA:db --yes' },
    { argv: 'pair resync siteA:db --swap' },
    { argv: 'pair wait siteB:db --state PAIR --drained --timeout 60s' },
    { argv: 'pair show siteB:db' },
    {
      title: 'A backup of the replica, with its management information kept in the array',
      argv: 'backup create siteB:db --to siteB:db-backup --label nightly --info app=payroll --info consistency=crash',
    },
    { argv: 'backup list siteB' },
    { title: 'How big a link does this need? Distinct tracks per window, not bytes written', argv: `stats report siteA:oltp --window 2s --resync-time 5m --path-speed 1Gb/s --chart ${svg}` },
  ];
}

/** The NBD image: 16 MiB of random data, as a real host's disk image would be. */
const IMAGE_BYTES = 16 * 1024 * 1024;

/** The first real NBD client installed (nbdcopy of libnbd-bin, or qemu-img of qemu-utils), or null. */
function nbdClient(): 'nbdcopy' | 'qemu-img' | null {
  for (const t of ['nbdcopy', 'qemu-img'] as const) if (spawnSync('sh', ['-c', `command -v ${t}`]).status === 0) return t;
  return null;
}

/**
 * A real host writes over NBD: the P-VOL is exported, a real client copies a disk image into it,
 * and the image's SHA-256 is then read back from the S-VOL's first 16 MiB. Skipped (one line) when
 * neither nbdcopy nor qemu-img is installed.
 */
function nbdSteps(home: string): Step[] {
  const img = path.join(home, 'disk.img');
  const client = nbdClient();
  if (!client) return [];
  const sock = path.join(home, 'db.sock');
  const uri = `nbd+unix:///db?socket=${sock}`;
  const copy = client === 'nbdcopy' ? `nbdcopy --flush ${img} ${uri}` : `qemu-img convert -n -f raw -O raw ${img} ${uri}`;
  return [
    { title: `A real host over NBD: ${client} writes a 16 MiB disk image into the exported P-VOL`, argv: `export start siteA:db --socket ${sock}` },
    { argv: copy, client: true },
    { argv: 'pair wait siteB:db --drained --timeout 60s' },
    { title: "The image arrived on the S-VOL: its first 16 MiB have the image's SHA-256", argv: `io checksum siteB:db --range 0-16M`, verify: 'siteB:db' },
    { argv: 'export stop siteA:db' },
  ];
}

/** Runs a real client's step; its output is shown as it is. */
async function runClient(argv: string, say: (s: string) => void): Promise<number> {
  const [cmd, ...args] = words(argv);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (out) say(out);
  return r.status ?? 1;
}

/** Splits a step's command line (no quoting needed in the tour's own commands). */
function words(argv: string): string[] {
  return argv.split(/\s+/).filter(Boolean);
}

export async function demo(ctx: CliContext, _args: unknown[], opts: CommandOpts): Promise<Output> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-demo-'));
  const c = await colors(ctx);
  const quiet = ctx.format !== 'table';
  const prevHome = process.env.RCOPY_HOME;
  const prevExit = process.exitCode;
  const log: Array<{ command: string; seconds: number; exitCode: number }> = [];
  const realWrite = process.stdout.write.bind(process.stdout);
  const say = (s: string): void => {
    if (!quiet) realWrite(`${s}\n`);
  };
  const t0 = performance.now();
  let nbd: { client: string; imageSha256: string; svolSha256: string } | null = null;
  process.env.RCOPY_HOME = home;
  try {
    say(c.bold(`rcopy tour — a throw-away home in ${home}`));
    const image = crypto.randomBytes(IMAGE_BYTES);
    fs.writeFileSync(path.join(home, 'disk.img'), image, { mode: 0o600 });
    const all = steps(home);
    for (const s of all) {
      if (s.title) say(`\n${c.bold(`▸ ${s.title}`)}`);
      const command = s.client ? s.argv : `rcopy ${s.argv}`;
      say(c.dim(`$ ${command}`));
      if (s.client) say(c.dim(`  (the image's SHA-256: ${crypto.createHash('sha256').update(image).digest('hex')})`));
      const t = performance.now();
      process.exitCode = 0;
      let code: number;
      if (s.client) code = await runClient(s.argv, say);
      else {
        if (quiet) (process.stdout as { write: unknown }).write = () => true;
        try {
          await newProgram().parseAsync(words(s.argv), { from: 'user' });
        } finally {
          (process.stdout as { write: unknown }).write = realWrite;
        }
        code = Number(process.exitCode ?? 0);
      }
      log.push({ command, seconds: Math.round(performance.now() - t) / 1000, exitCode: code });
      if (code !== 0) throw new Error(`the tour step '${command}' exited ${code}`);
      if (s.verify) {
        const io = await import('./io.js');
        const sum = (await io.checksum({ ...ctx, home, interactive: false }, [s.verify], { range: `0-${IMAGE_BYTES}` })).data as { sha256: string };
        const client = all.find((x) => x.client)!;
        nbd = { client: words(client.argv)[0]!, imageSha256: crypto.createHash('sha256').update(image).digest('hex'), svolSha256: sum.sha256 };
      }
    }
    if (!all.some((s) => s.client)) say(c.dim('\n(the NBD step is skipped: neither nbdcopy nor qemu-img is installed — apt-get install libnbd-bin or qemu-utils)'));
    const svg = path.join(home, 'bandwidth.svg');
    if (opts.keep) say(`\nThe chart is in ${svg}`);
  } finally {
    const array = await import('./array.js');
    await array.stop({ ...ctx, home, interactive: false, yes: true, progress: false }, [], { all: true });
    if (prevHome === undefined) delete process.env.RCOPY_HOME;
    else process.env.RCOPY_HOME = prevHome;
    process.exitCode = prevExit;
    if (!opts.keep) fs.rmSync(home, { recursive: true, force: true });
  }
  const seconds = Math.round(performance.now() - t0) / 1000;
  const next = [
    'rcopy array create mysite && rcopy volume create mysite:vol1 --size 1G',
    'rcopy help pair create                # every command has an example',
    'rcopy run samples/two-site-async-pair.yaml   # a runbook',
    'rcopy stats import mysite:prod --trace test/fixtures/traces/wdev_1.csv --format msr',
    'rcopy stats report mysite:prod --window 10m --resync-time 5m --chart link.svg',
    'source <(rcopy completion bash)',
  ];
  return {
    data: { home: opts.keep ? home : null, seconds, steps: log, nbd },
    text: `\n${c.bold(`Tour done in ${seconds.toFixed(1)} s.`)} Try next:\n${next.map((n) => `  ${n}`).join('\n')}${opts.keep ? `\n\n(the demo home is kept: export RCOPY_HOME=${home})` : ''}`,
  };
}
