/**
 * rcopy stats simulate ARRAY:GROUP (--trace F --format X | the group's collection) --bandwidth R
 * --journal S: replays every write through rcopy's journal and a link of that rate (the engine's
 * stats/simulate), in this process: a trace or a read-only store, no controller. What it shows:
 * ../render/stats-simulate.ts.
 */
import path from 'node:path';
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { arrayTrackSize } from '../../engine/stats/queries.js';
import { TRACE_FORMATS, type TraceFormat } from '../../engine/stats/traces/records.js';
import type { WriteLog } from '../../engine/stats/simulate/writes.js';
import { MAX_SPAN_MS, parseDuration, parseRate, parseSize, parseTime } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { need } from '../ui.js';
import { checkOutputPath, writeOutputFile } from '../paths.js';
import { parseGroupRef } from './stats.js';

type Args = Array<string | string[] | undefined>;

/** `--outage 2h@2007-02-23T10:00` -> start (epoch ms) and length (ms). */
export function parseOutage(text: string): { start: number; ms: number } {
  const at = String(text).indexOf('@');
  if (at <= 0) throw E.usage(`invalid --outage '${text}'`, 'give LENGTH@TIME, e.g. 2h@2007-02-23T10:00Z');
  const ms = parseDuration(text.slice(0, at), { option: '--outage', max: MAX_SPAN_MS });
  if (!(ms > 0)) throw E.usage(`invalid --outage '${text}': the length must be more than 0`, 'e.g. 2h@2007-02-23T10:00Z');
  return { start: parseTime(text.slice(at + 1)), ms };
}

/** --verify's options (--speedup, --pull-interval, --volume-size), checked before anything runs; null without --verify. */
function verifyOptions(opts: CommandOpts): { speedup: number; pullIntervalMs: number; volumeSize: number } | null {
  if (!opts.verify) {
    const stray = ['speedup', 'pullInterval', 'volumeSize'].find((k) => opts[k] !== undefined);
    if (stray) throw E.usage(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --verify`, 'add --verify to replay the trace into a scratch pair');
    return null;
  }
  if (opts.outage !== undefined) throw E.usage('--verify does not replay an --outage', 'verify without --outage; the outage is simulated only');
  const speedup = Number(opts.speedup ?? 1);
  if (!(Number.isFinite(speedup) && speedup >= 1 && speedup <= 1e6))
    throw E.usage(`invalid --speedup '${opts.speedup}'`, 'a factor from 1 to 1000000: the replay runs that many times faster than the trace');
  const pullIntervalMs = parseDuration(opts.pullInterval ?? '20ms', { option: '--pull-interval', max: 60_000 });
  if (!(pullIntervalMs >= 1)) throw E.usage(`invalid --pull-interval '${opts.pullInterval}'`, 'at least 1ms, e.g. --pull-interval 20ms');
  const volumeSize = parseSize(opts.volumeSize ?? '1G');
  if (!(volumeSize >= 1024 * 1024 && volumeSize % 65536 === 0)) throw E.badSize(String(opts.volumeSize), 'the scratch volume: at least 1M, a multiple of 64K');
  return { speedup, pullIntervalMs, volumeSize };
}

interface Source {
  log: WriteLog;
  what: Record<string, unknown>;
}

async function traceSource(file: string, opts: CommandOpts, range: { fromMs?: number; toMs?: number }): Promise<Source> {
  const format = String(opts.traceFormat ?? '');
  if (!(TRACE_FORMATS as readonly string[]).includes(format)) {
    throw E.usage(opts.traceFormat === undefined ? 'missing --format with --trace' : `unknown trace format '${format}'`, `use --format ${TRACE_FORMATS.join(', ')}`);
  }
  const { readWrites } = await import('../../engine/stats/simulate/writes.js');
  const r = await readWrites(file, { format: format as TraceFormat, strict: !!opts.strict, device: opts.device, ...range });
  const cn = r.counters;
  if (r.log.length === 0) {
    const why = cn.malformed > 0 ? `${cn.malformed} malformed lines (first: line ${cn.firstMalformed?.line}: '${cn.firstMalformed?.text}')` : 'no write records';
    throw E.badTrace(`nothing to simulate from '${file}': ${why}${opts.device ? ` for device '${opts.device}'` : ''}`, `check that it is a ${format} trace`);
  }
  const what = {
    trace: file,
    name: path.basename(file),
    format,
    gzip: r.gzip,
    lines: cn.lines,
    reads: cn.reads,
    malformed: cn.malformed,
    firstMalformed: cn.firstMalformed ?? null,
    outOfOrder: r.log.outOfOrder,
    duplicateWrites: cn.duplicateWrites,
    duplicateBytes: cn.duplicateBytes,
    digestsFull: cn.digestsFull,
    devices: opts.device ? [opts.device] : r.devices,
  };
  return { log: r.log, what };
}

// long: one flow: check every option before reading anything, read the writes, simulate, show
export async function simulate(ctx: CliContext, [refArg]: Args, opts: CommandOpts): Promise<Output> {
  const r = parseGroupRef(await need(ctx, refArg as string | undefined, { name: 'the group (ARRAY:GROUP)', message: 'Group (ARRAY:GROUP):' }));
  const dir = existingArrayDir(r.array, ctx.home);
  const bandwidth = parseRate(await need(ctx, opts.bandwidth, { name: '--bandwidth', message: 'Link bandwidth (e.g. 100Mb/s):' }));
  const journal = parseSize(await need(ctx, opts.journal, { name: '--journal', message: 'Journal size (e.g. 64G):' }));
  if (!(journal >= 4096)) throw E.badSize(String(opts.journal), 'a journal holds at least 4 KiB');
  const rpoMs = parseDuration(opts.rpo ?? '5m', { option: '--rpo', max: MAX_SPAN_MS });
  if (!(rpoMs > 0)) throw E.usage(`invalid --rpo '${opts.rpo}': more than 0`, 'e.g. --rpo 5m');
  const latencyMs = parseDuration(opts.latency ?? '0ms', { option: '--latency', max: 3_600_000 });
  const outage = opts.outage !== undefined ? parseOutage(opts.outage) : undefined;
  const trackSize = opts.trackSize !== undefined ? parseSize(opts.trackSize) : arrayTrackSize(dir);
  if (!(trackSize >= 512 && trackSize <= 2 ** 30)) throw E.badSize(String(opts.trackSize), 'a track is from 512 bytes to 1 GiB');
  if (opts.chart) checkOutputPath(opts.chart, '--chart');
  const verify = verifyOptions(opts);
  const range = { fromMs: opts.from !== undefined ? parseTime(opts.from) : undefined, toMs: opts.to !== undefined ? parseTime(opts.to) : undefined };
  let src: Source;
  if (opts.trace !== undefined) src = await traceSource(String(opts.trace), opts, range);
  else {
    if (opts.device !== undefined || opts.traceFormat !== undefined)
      throw E.usage('--device and --format go with --trace', 'give the trace with --trace FILE --format FORMAT, or leave them out to use the collection');
    const { writesOfCollection } = await import('../../engine/stats/simulate/run.js');
    const c = writesOfCollection(dir, r.array, r.group, trackSize, range);
    if (c.log.length === 0) throw E.usage(`group '${r.array}:${r.group}' has no writes in its collection`, `collect some (rcopy stats start), import a trace (rcopy stats import), or give --trace`);
    src = { log: c.log, what: { collection: `${r.array}:${r.group}`, devices: c.devices } };
  }
  const { simulation } = await import('../../engine/stats/simulate/run.js');
  const t0 = performance.now();
  const sim = simulation(src.log, { bandwidth, journal, rpoMs, latencyMs, outage, trackSize, solve: !!opts.solve });
  const seconds = (performance.now() - t0) / 1000;
  const { simulateOutput, assumptions } = await import('../render/stats-simulate.js');
  let chart: string | null = null;
  if (opts.chart) {
    const { simulationHtml, simulationSvg } = await import('../render/sim-chart.js');
    const title = `${r.array}:${r.group}: journal simulation of ${String(src.what.name ?? src.what.collection)}`;
    const doc = /\.html?$/i.test(String(opts.chart)) ? simulationHtml(sim, title, assumptions(sim)) : simulationSvg(sim, title);
    chart = writeOutputFile(opts.chart, '--chart', doc);
  }
  const verification = verify ? await (await import('./stats-verify.js')).verifyReplay(ctx, src.log, { bandwidth, journal, latencyMs, trackSize, ...verify }) : undefined;
  const data = { array: r.array, group: r.group, source: src.what, ...sim, chart, seconds: Math.round(seconds * 1000) / 1000, ...(verification ? { verify: verification } : {}) };
  const out = await simulateOutput(ctx, r, src.what, sim, data);
  if (!verification) return out;
  const { verifyText } = await import('../render/sim-verify.js');
  return { ...out, text: out.text === undefined ? undefined : [out.text, ...verifyText(verification)].join('\n'), ...(verification.agree.all ? {} : { exitCode: 3 }) };
}
