/** rcopy io write|read|checksum and rcopy workload run */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { E } from '../../errors.js';
import { Rng } from '../../engine/array/workload.js';
import { formatBytes, formatRate, parseDuration, parseRate, parseSize, parseVolOrViewRef } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { ParamsOf } from '../../server/methods.js';
import type { Output } from '../render/output.js';
import { progress } from '../render/progress.js';
import { call, withArray } from './common.js';
import { onInterrupt } from '../interrupt.js';
import { knownArray } from '../../server/transport/resolve.js';
import { forChunks } from '../../engine/util/parallel.js';
import { checkInputFile, checkOutputPath } from '../paths.js';

type Args = Array<string | string[] | undefined>;
const CHUNK = Number(process.env.RCOPY_IO_CHUNK ?? 4 * 1024 * 1024);
const DEPTH = Number(process.env.RCOPY_IO_DEPTH ?? 4);

function patternFiller(pattern: string, seed: number | undefined): (buf: Buffer) => void {
  if (pattern === 'zero') return (b) => b.fill(0);
  if (pattern === 'random') {
    if (seed !== undefined) {
      const rng = new Rng(seed);
      return (b) => rng.fill(b);
    }
    return (b) => {
      const crypto = globalThis.crypto;
      for (let o = 0; o < b.length; o += 65536) crypto.getRandomValues(b.subarray(o, Math.min(b.length, o + 65536)));
    };
  }
  const byte = /^0x[0-9a-f]{1,2}$/i.test(pattern) ? parseInt(pattern, 16) : /^\d{1,3}$/.test(pattern) ? Number(pattern) : NaN;
  if (!(byte >= 0 && byte <= 255)) throw E.badInput(`invalid pattern '${pattern}'`, 'use zero, random, or a byte value 0-255 / 0xNN');
  return (b) => b.fill(byte);
}

export async function write(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const { array, name } = parseVolOrViewRef(ref as string);
  knownArray(array, ctx.home);
  const offset = parseSize(opts.offset ?? '0');
  if ((opts.file ? 1 : 0) + (opts.pattern ? 1 : 0) !== 1) throw E.usage('give exactly one of --file or --pattern');
  if (opts.file) checkInputFile(opts.file, '--file');
  let length: number;
  let fill: ((buf: Buffer, pos: number) => Promise<void>) | null = null;
  let fh: fsp.FileHandle | null = null;
  if (opts.file) {
    try {
      fh = await fsp.open(opts.file, 'r');
    } catch (e) {
      throw E.badInput(`cannot read '${opts.file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    length = (await fh.stat()).size;
    if (opts.length !== undefined) length = Math.min(length, parseSize(opts.length));
    const f = fh;
    fill = async (buf, pos) => {
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await f.read(buf, done, buf.length - done, pos + done);
        if (bytesRead === 0) throw E.badInput(`'${opts.file}' became shorter while it was read`);
        done += bytesRead;
      }
    };
  } else {
    if (opts.length === undefined) throw E.usage('--pattern needs --length');
    length = parseSize(opts.length);
    const f = patternFiller(String(opts.pattern), opts.seed !== undefined ? Number(opts.seed) : undefined);
    fill = async (buf) => f(buf);
  }
  try {
    return await withArray(ctx, array, async (c) => {
      const vol = (await c.call('volume.show', { name })).result as { size: number };
      if (offset + length > vol.size) {
        throw E.outOfRange(`${array}:${name}: offset ${offset} + length ${length} is past the end of the volume (${vol.size} bytes)`);
      }
      const p = await progress(ctx, `writing ${array}:${name}`);
      const t0 = performance.now();
      // the CLI reads the file and sends its bytes (CHUNK at a time, DEPTH in flight): the
      // controller opens no path a client names, so it reads nothing the client could not
      // DEPTH buffers, each reused once the controller has answered for it: memory stays at
      // DEPTH * CHUNK, and the pages of a fresh 4 MiB buffer per chunk are faulted in anew (1 GiB
      // from a file: 2.2-2.5 s of CLI CPU with fresh buffers, 0.9-1.5 s reusing them)
      const free: Buffer[] = [];
      let written = 0;
      // Ctrl-C: no further chunk is sent; the chunks already written are committed and reported
      let stop = false;
      const off = onInterrupt(`writing ${array}:${name}`, async () => void (stop = true));
      try {
        await forChunks(length, CHUNK, DEPTH, async (pos, len) => {
          if (stop) return;
          const whole = free.pop() ?? Buffer.allocUnsafe(Math.min(CHUNK, length));
          const buf = whole.subarray(0, len);
          await fill!(buf, pos);
          if (stop) return void free.push(whole);
          await c.call('io.write', { volume: name, offset: offset + pos, sync: false }, { payload: buf });
          free.push(whole);
          written += len;
          p.update(written, length);
        });
      } finally {
        off();
      }
      await c.call('io.commit'); // the command completes when its data is durable
      const seconds = (performance.now() - t0) / 1000;
      p.stop();
      const data = { volume: `${array}:${name}`, offset, length, written, cancelled: stop, seconds: Math.round(seconds * 1000) / 1000, bytesPerSecond: Math.round(written / seconds) };
      if (stop)
        return {
          data,
          text: `stopped: wrote ${formatBytes(written)} of ${formatBytes(length)} to ${array}:${name} (whole chunks of ${formatBytes(CHUNK)} from offset ${offset}, committed); the rest was not written`,
        };
      return { data, text: `wrote ${formatBytes(length)} to ${array}:${name} at offset ${offset} (${formatRate(length / seconds)})` };
    });
  } finally {
    await fh?.close();
  }
}

function hexdump(buf: Buffer, base: number): string {
  let out = '';
  for (let i = 0; i < buf.length; i += 16) {
    const row = buf.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const asc = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    out += `${(base + i).toString(16).padStart(10, '0')}  ${hex.padEnd(47)}  ${asc}\n`;
  }
  return out;
}

/** Writes to stdout and waits while its buffer is full, so memory stays at one chunk. */
function toStdout(data: string | Buffer): Promise<void> {
  return new Promise((resolve) => (process.stdout.write(data) ? resolve() : process.stdout.once('drain', resolve)));
}

/** How much io read asks for at a time: large into a file, small for a hex dump (streamed). */
const READ_CHUNK = 16 * CHUNK;
const DUMP_CHUNK = 1024 * 1024;

export async function read(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const { array, name } = parseVolOrViewRef(ref as string);
  knownArray(array, ctx.home);
  const offset = parseSize(opts.offset ?? '0');
  const length = parseSize(opts.length);
  if (opts.out && opts.out !== '-') checkOutputPath(opts.out, '--out');
  const dump = !opts.out && ctx.format === 'table';
  return withArray(ctx, array, async (c) => {
    const vol = (await c.call('volume.show', { name })).result as { size: number };
    if (offset + length > vol.size) throw E.outOfRange(`${array}:${name}: offset ${offset} + length ${length} is past the end of the volume (${vol.size} bytes)`);
    const crypto = await import('node:crypto');
    const h = crypto.createHash('sha256');
    const out = opts.out && opts.out !== '-' ? fs.openSync(opts.out, 'w') : null;
    const step = dump || opts.out === '-' ? DUMP_CHUNK : READ_CHUNK;
    try {
      for (let pos = 0; pos < length; pos += step) {
        const len = Math.min(step, length - pos);
        const r = await c.call('io.read', { volume: name, offset: offset + pos, length: len });
        const data = r.payload ?? Buffer.alloc(0);
        h.update(data);
        if (out !== null) fs.writeSync(out, data);
        else if (opts.out === '-') await toStdout(data);
        else if (dump) for (let i = 0; i < data.length; i += 64 * 1024) await toStdout(hexdump(data.subarray(i, i + 64 * 1024), offset + pos + i));
      }
    } finally {
      if (out !== null) fs.closeSync(out);
    }
    const data = { volume: `${array}:${name}`, offset, length, sha256: h.digest('hex'), out: opts.out ?? null };
    // the hex dump (or the raw bytes) went to stdout as it was read
    if (opts.out === '-' || dump) return { text: '', data };
    return { data, text: `read ${formatBytes(length)} into ${opts.out}` };
  });
}

export async function checksum(ctx: CliContext, [ref]: Args, opts: CommandOpts): Promise<Output> {
  const { array, name } = parseVolOrViewRef(ref as string);
  knownArray(array, ctx.home);
  const params: ParamsOf<'io.checksum'> = { volume: name };
  if (opts.range) {
    const m = /^([^-]+)-([^-]+)$/.exec(String(opts.range));
    if (!m) throw E.badInput(`invalid --range '${opts.range}'`, 'use START-END, e.g. 0-1G');
    const s = parseSize(m[1]!);
    const e = parseSize(m[2]!);
    if (e <= s) throw E.badInput(`invalid --range '${opts.range}': end must be after start`);
    params.offset = s;
    params.length = e - s;
  }
  const r = await withArray(ctx, array, (c) => c.call('io.checksum', params));
  const data = { volume: `${array}:${name}`, ...r.result };
  return { data, text: `${r.result.sha256}  ${array}:${name}` };
}

export async function workload(ctx: CliContext, [refs]: Args, opts: CommandOpts): Promise<Output> {
  const list = (refs as string[]).map(parseVolOrViewRef);
  const array = list[0]!.array;
  if (list.some((r) => r.array !== array)) throw E.usage('a workload runs on the volumes of one array', 'run one workload per array');
  knownArray(array, ctx.home);
  const params: ParamsOf<'workload.run'> = {
    volumes: list.map((r) => r.name),
    pattern: opts.pattern ?? 'random',
    bs: parseSize(opts.bs ?? '64k'),
    writeRatio: Number(opts.writeRatio ?? 1),
    depth: Number(opts.depth ?? 4),
    seed: Number(opts.seed ?? 1),
    progress: ctx.progress,
    stamp: !!opts.stamp,
  };
  if (!['seq', 'random', 'zipf'].includes(String(params.pattern))) throw E.badInput(`unknown pattern '${params.pattern}'`, 'use seq, random or zipf');
  if (!(Number(params.writeRatio) >= 0 && Number(params.writeRatio) <= 1)) throw E.badInput(`invalid --write-ratio '${opts.writeRatio}'`, 'a fraction from 0 to 1');
  if (opts.rate) params.rate = parseRate(opts.rate);
  if (opts.duration) params.durationMs = parseDuration(opts.duration);
  if (opts.bytes) params.bytes = parseSize(opts.bytes);
  if (!opts.duration && !opts.bytes) throw E.usage('a workload needs --duration or --bytes');
  const p = await progress(ctx, `workload on ${list.map((r) => `${r.array}:${r.name}`).join(', ')}`);
  // Ctrl-C stops the workload in the controller (its job); it answers with what it did
  let job: number | null = null;
  const r = await withArray(ctx, array, async (c) => {
    const off = onInterrupt('the workload', async () => (job === null ? c.close() : void (await call(ctx, array, 'jobs.stop', { id: job, reason: 'interrupted (Ctrl-C)' }))));
    try {
      return await c.call('workload.run', params, {
        onEvent: (ev) => {
          if (typeof ev.job === 'number') job = ev.job;
          else p.update(Number(ev.bytes), params.bytes ?? undefined);
        },
      });
    } finally {
      off();
    }
  });
  p.stop();
  const w = r.result;
  return {
    data: w,
    text: `${w.cancelled ? `workload stopped in the controller (${w.cancelled}) after ` : ''}${w.ops} ops (${w.writes} writes, ${w.reads} reads), ${formatBytes(w.bytes)} in ${w.seconds}s: ${w.iops} IOPS, ${w.mbps} MB/s, latency p50 ${w.latencyMs.p50} ms, p95 ${w.latencyMs.p95} ms, p99 ${w.latencyMs.p99} ms, max ${w.latencyMs.max} ms`,
  };
}
