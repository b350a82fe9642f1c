/**
 * rcopy metrics [ARRAY] [--textfile DIR]: the arrays' metrics as one text, on stdout (Prometheus
 * text, or OpenMetrics 1.0 with --openmetrics) or written atomically (a temporary file, then
 * rename) as DIR/rcopy.prom for node_exporter's textfile collector, which reads the Prometheus
 * text format (the OpenMetrics counter naming, `# EOF` and `# UNIT` are not its format). Each running controller renders its own (engine/ops/metrics.ts); prom-client's
 * AggregatorRegistry joins them (their series differ by the `array` label). A controller that is
 * not running is not started: its array has rcopy_controller_up 0.
 * rcopy array serve-metrics NAME --listen HOST:PORT | --stop: /metrics served by the controller.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AggregatorRegistry, Gauge, Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';
import { E } from '../../errors.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { connectArray } from '../../server/client.js';
import { checkName } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { arrayNames, call } from './common.js';

export const TEXTFILE = 'rcopy.prom';

/** The OpenMetrics text of the arrays (running controllers only), and which arrays answered. */
export async function collect(ctx: CliContext, arrays: string[], openMetrics: boolean): Promise<{ text: string; up: Record<string, boolean> }> {
  const parts: object[][] = [];
  const up: Record<string, boolean> = {};
  for (const a of arrays) {
    try {
      const c = await connectArray(a, ctx.home, { autostart: false });
      try {
        parts.push((await c.call('metrics.get', { openMetrics }, { timeoutMs: 30_000 })).result.json as object[]);
        up[a] = true;
      } finally {
        c.close();
      }
    } catch {
      up[a] = false;
    }
  }
  type T = OpenMetricsContentType | PrometheusContentType;
  const reg = parts.length ? AggregatorRegistry.aggregate<T>(parts) : new Registry<T>();
  reg.setContentType(openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  const g = new Gauge({ name: 'rcopy_controller_up', help: "1 when the array's controller answered", labelNames: ['array'], registers: [reg] });
  for (const [a, u] of Object.entries(up)) g.set({ array: a }, u ? 1 : 0);
  return { text: await reg.metrics(), up };
}

/** Writes `text` as dir/name atomically: a temporary file in the same directory, fsynced, renamed. */
export function writeAtomically(dir: string, name: string, text: string): string {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw E.badInput(`--textfile ${dir} is not a directory`, 'give the directory of node_exporter --collector.textfile.directory');
  const final = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  try {
    // readable by node_exporter, which runs as another user; it holds no volume data
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, final);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw E.badInput(`cannot write ${final}: ${(e as Error).message}`);
  }
  return final;
}

export async function metrics(ctx: CliContext, [arrayArg]: Array<string | string[] | undefined>, opts: CommandOpts): Promise<Output> {
  const arrays = arrayArg ? [checkName('array', arrayArg as string)] : arrayNames(ctx);
  for (const a of arrays) existingArrayDir(a, ctx.home);
  // the textfile collector reads the Prometheus text format; on stdout --openmetrics gives OpenMetrics 1.0
  const { text, up } = await collect(ctx, arrays, !opts.textfile && !!opts.openmetrics);
  if (opts.textfile) {
    const file = writeAtomically(String(opts.textfile), TEXTFILE, text);
    return { data: { schemaVersion: 1, file, arrays: up, bytes: Buffer.byteLength(text) }, text: `wrote ${file} (${Object.keys(up).length} arrays, ${Buffer.byteLength(text)} bytes)` };
  }
  return { data: { schemaVersion: 1, arrays: up, openMetrics: text }, text: text.trimEnd() };
}

export async function serveMetrics(ctx: CliContext, [name]: Array<string | string[] | undefined>, opts: CommandOpts): Promise<Output> {
  const a = checkName('array', String(name));
  existingArrayDir(a, ctx.home);
  if (!opts.stop && !opts.listen) throw E.usage('give --listen HOST:PORT, or --stop', 'rcopy array serve-metrics siteA --listen 127.0.0.1:9477');
  const r = await call(ctx, a, 'metrics.serve', { listen: opts.stop ? null : String(opts.listen) });
  return { data: { schemaVersion: 1, ...r }, text: r.url ? `${a}: serving ${r.url}` : `${a}: metrics endpoint stopped` };
}
