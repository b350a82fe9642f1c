/** Controller methods for host I/O into volumes and the workload generator. */
import type { Handlers } from '../handlers.js';
import { bool, int, num, oneOf, optInt, optNum, str, strList, needPayload } from '../validate.js';
import { runWorkload } from '../../engine/array/workload.js';
import { E } from '../../errors.js';
import { jobs } from './jobs-handlers.js';
import type { Volume } from '../../engine/array/volume.js';
import { viewOf, writeView } from './drill-handlers.js';
import { viewChecksum } from '../../engine/drill/view-checksum.js';

const MAX_IO = 64 * 1024 * 1024;

export const handlers: Handlers = {
  'io.write': async (ctx, p, payload) => {
    const data = needPayload(payload, 'io.write');
    if (viewOf(ctx, str(p, 'volume'))) {
      // a drill's view (VOL@DRILL): into its overlay, durably, never to the S-VOL
      await writeView(ctx, str(p, 'volume'), int(p, 'offset'), data);
      return { written: data.length };
    }
    // sync: false lets one command's chunks share a single commit (io.commit) at its end
    await ctx.array.write(str(p, 'volume'), int(p, 'offset'), data, 'host', { sync: p.sync !== false });
    return { written: data.length };
  },

  'io.commit': async (ctx) => {
    await ctx.array.commit();
    return { committed: true };
  },

  'io.read': async (ctx, p) => {
    const length = int(p, 'length', 0, MAX_IO);
    const view = viewOf(ctx, str(p, 'volume'));
    if (view) return { result: { length }, payload: await view.read(int(p, 'offset'), length) };
    const data = await ctx.array.read(str(p, 'volume'), int(p, 'offset'), length);
    return { result: { length }, payload: data };
  },

  'io.checksum': async (ctx, p) => {
    const offset = optInt(p, 'offset');
    const length = optInt(p, 'length');
    const view = viewOf(ctx, str(p, 'volume'));
    if (view) return viewChecksum(view, offset ?? 0, length ?? view.size - (offset ?? 0));
    const range = offset !== undefined || length !== undefined ? { offset: offset ?? 0, length: length ?? ctx.array.volume(str(p, 'volume')).size - (offset ?? 0) } : undefined;
    return ctx.array.checksum(str(p, 'volume'), range);
  },

  'workload.run': async (ctx, p, _payload, emit, req) => {
    const names = strList(p, 'volumes');
    // a drill's view (VOL@DRILL) runs on its S-VOL's geometry, its I/O going to the view
    const views = names.map((n) => viewOf(ctx, n));
    const vols = names.map((n, i) => views[i]?.vol ?? ctx.array.volume(n));
    const viewAt = (vol: Volume): number => vols.indexOf(vol);
    const durationMs = optNum(p, 'durationMs', 1);
    const bytes = optInt(p, 'bytes', 1);
    if (durationMs === undefined && bytes === undefined) throw E.usage('a workload needs --duration or --bytes');
    // a job: rcopy jobs lists it, workload stop / jobs stop or the client's going away stops it
    const job = jobs(ctx).begin('workload', `workload on ${names.map((n) => `${ctx.array.name}:${n}`).join(', ')}`, req.signal);
    emit({ job: job.view.id });
    try {
      const r = await runWorkload(
        vols,
        {
          pattern: oneOf(p, 'pattern', ['seq', 'random', 'zipf'] as const, 'random'),
          bs: int(p, 'bs', 512, 64 * 1024 * 1024),
          rate: optNum(p, 'rate', 1),
          durationMs,
          bytes,
          writeRatio: p.writeRatio === undefined ? 1 : num(p, 'writeRatio', 0, 1),
          seed: optInt(p, 'seed'),
          depth: optInt(p, 'depth', 1, 64) ?? 4,
          stamp: bool(p, 'stamp'),
        },
        {
          write: (vol, off, data) => (views[viewAt(vol)] ? writeView(ctx, names[viewAt(vol)]!, off, data) : ctx.array.write(vol, off, data, 'host')),
          read: (vol, off, len) => (views[viewAt(vol)] ?? vol).read(off, len),
        },
        bool(p, 'progress') ? (pr) => emit(pr) : undefined,
        () => ctx.stopping || job.stopped,
      );
      return { ...r, cancelled: job.reason };
    } finally {
      job.end();
    }
  },
};
