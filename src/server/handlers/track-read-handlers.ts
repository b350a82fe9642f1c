/**
 * Controller methods a secondary's copy calls on the primary's volumes: runs of tracks read into
 * one reply (pooled buffers, given back once the socket is done with them), and track hashes for a
 * resync with references (references/index-keeper.ts).
 */
import { E } from '../../errors.js';
import { trackBuffers } from '../../engine/util/buffer-pool.js';
import { forEachLimit } from '../../engine/util/parallel.js';
import type { HandlerContext, Handlers } from '../handlers.js';
import { int, str } from '../validate.js';
import type { ReplService } from './repl-handlers.js';

const svc = (ctx: HandlerContext): ReplService => ctx.service<ReplService>('replication');

export const handlers: Handlers = {
  'repl.readRuns': async (ctx, p) => {
    const vol = ctx.array.volume(str(p, 'volume'));
    const runs = p.runs;
    if (!Array.isArray(runs) || runs.length === 0 || runs.length > 4096) throw E.badInput('repl.readRuns: runs must be a list of [offset, length]');
    let total = 0;
    const at: Array<[number, number, number]> = [];
    for (const r of runs) {
      if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1]) || r[1] <= 0) throw E.badInput('repl.readRuns: a run is [offset, length]');
      vol.checkRange(r[0] as number, r[1] as number);
      at.push([r[0] as number, r[1] as number, total]);
      total += r[1] as number;
      if (total > 64 * 1024 * 1024) throw E.badInput('repl.readRuns: at most 64 MiB per request');
    }
    // every run read straight into its place in the reply, several at a time (random tracks)
    const payload = trackBuffers.take(total);
    try {
      await forEachLimit(at.length, 8, async (i) => {
        const [off, len, pos] = at[i]!;
        await vol.read(off, len, payload.subarray(pos, pos + len));
      });
    } catch (e) {
      trackBuffers.give(payload);
      throw e;
    }
    return { result: null, payload, written: () => trackBuffers.give(payload) };
  },
  'repl.readTracks': async (ctx, p) => {
    const vol = ctx.array.volume(str(p, 'volume'));
    const length = int(p, 'length', 1, 64 * 1024 * 1024);
    const data = trackBuffers.take(length);
    try {
      await vol.read(int(p, 'offset'), length, data);
    } catch (e) {
      trackBuffers.give(data);
      throw e;
    }
    return { result: null, payload: data, written: () => trackBuffers.give(data) };
  },
  'repl.trackHashes': async (ctx, p) => {
    const vol = ctx.array.volume(str(p, 'volume'));
    const ranges = p.ranges;
    const bad = E.badRequest;
    if (!Array.isArray(ranges) || ranges.length === 0 || ranges.length > 4096) throw bad("parameter 'ranges' must be a list of [offset, length]");
    let total = 0;
    const want: Array<[number, number]> = [];
    for (const r of ranges as unknown[]) {
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) throw bad("parameter 'ranges' must be a list of [offset, length]");
      const [off, len] = r as [number, number];
      vol.checkRange(off, len);
      if (off % vol.trackSize !== 0 || len === 0) throw bad(`range ${off}+${len} does not start on a track boundary`);
      total += len;
      if (total > 256 * 1024 * 1024) throw bad('at most 256 MiB of tracks per request');
      want.push([off / vol.trackSize, Math.ceil((off + len) / vol.trackSize) - 1]);
    }
    // the hashes, and where the S-VOL held each track's blocks (references/index-keeper.ts)
    return svc(ctx).r.serve.refIndexes.trackHashes(svc(ctx).r.records.pairs(), vol, want);
  },
};
