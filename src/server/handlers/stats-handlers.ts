/**
 * Controller methods for PB-bit statistics: data group sets, live collection (the collector's write
 * hook and interval timer run here, as the 'stats' service) and storing imported entries.
 * Reports do not run here: the CLI reads the store read-only, so a long report never holds up the
 * controller's host writes.
 */
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import { int, optInt, str } from '../validate.js';
import { E, type RcopyError } from '../../errors.js';
import { checkName } from '../../units.js';
import { MIN_INTERVAL_MS, StatsCollector } from '../../engine/stats/collector.js';
import { checkEntry, type EncodedEntry, type GroupDef } from '../../engine/stats/store.js';
import { type ENC_RAW, type ENC_RUNS } from '../../engine/stats/codec.js';

class StatsService implements Service {
  readonly name = 'stats';
  private c: StatsCollector | null = null;
  constructor(private readonly ctx: HandlerContext) {}

  get collector(): StatsCollector {
    if (!this.c) this.c = new StatsCollector(this.ctx.array, (m) => this.ctx.log(m));
    return this.c;
  }

  async start(): Promise<void> {
    this.collector.resume();
  }

  async stop(): Promise<void> {
    this.c?.close();
  }
}

const svc = (ctx: HandlerContext) => ctx.service<StatsService>('stats').collector;

function bad(msg: string): RcopyError {
  return E.badRequest(msg);
}

/** Validates one group definition against the array: volumes exist, data sets lie inside them. */
function checkGroup(ctx: HandlerContext, raw: unknown): GroupDef {
  if (!raw || typeof raw !== 'object') throw bad('a group definition must be an object');
  const g = raw as Record<string, unknown>;
  const name = checkName('group', str(g, 'name'));
  const intervalMs = int(g, 'intervalMs', MIN_INTERVAL_MS);
  if (!Array.isArray(g.volumes) || g.volumes.length === 0) throw bad(`group '${name}': volumes must be a non-empty list`);
  const volumes: string[] = [];
  for (const v of g.volumes) {
    if (typeof v !== 'string') throw bad(`group '${name}': volume names must be strings`);
    ctx.array.volume(v);
    if (!volumes.includes(v)) volumes.push(v);
  }
  const datasets: GroupDef['datasets'] = [];
  for (const d of Array.isArray(g.datasets) ? g.datasets : []) {
    const x = d as Record<string, unknown>;
    const ds = { name: checkName('data set', str(x, 'name')), volume: str(x, 'volume'), startByte: int(x, 'startByte'), endByte: int(x, 'endByte', 1) };
    if (!volumes.includes(ds.volume))
      throw E.badInput(`data set '${ds.name}' is on volume '${ds.volume}', which is not in group '${name}'`, `add it to --volumes, or use one of: ${volumes.join(', ')}`);
    const size = ctx.array.volume(ds.volume).size;
    if (!(ds.endByte > ds.startByte) || ds.endByte > size) throw E.outOfRange(`data set '${ds.name}': range ${ds.startByte}-${ds.endByte} is empty or past the end of '${ds.volume}' (${size} bytes)`);
    if (datasets.some((o) => o.name === ds.name)) throw E.badInput(`data set '${ds.name}' is defined twice in group '${name}'`);
    datasets.push(ds);
  }
  return { name, intervalMs, volumes, datasets };
}

export const handlers: Handlers = {
  'stats.define': async (ctx, p) => {
    if (!Array.isArray(p.groups) || p.groups.length === 0) throw bad("parameter 'groups' must be a non-empty list");
    const defs = p.groups.map((g) => checkGroup(ctx, g));
    const names = new Set<string>();
    for (const d of defs) {
      if (names.has(d.name)) throw E.badInput(`group '${d.name}' is defined twice`);
      names.add(d.name);
    }
    const c = svc(ctx);
    c.stats.define(defs);
    return defs.map((d) => c.stats.need(ctx.array.name, d.name));
  },

  'stats.start': async (ctx, p) => svc(ctx).start(str(p, 'group'), optInt(p, 'intervalMs', MIN_INTERVAL_MS)),

  'stats.stop': async (ctx, p) => svc(ctx).stop(str(p, 'group')),

  'stats.collect': async (ctx, p) => svc(ctx).collect(str(p, 'group')),

  'stats.status': async (ctx, p) => {
    const c = svc(ctx);
    const g = c.stats.need(ctx.array.name, str(p, 'group'));
    return { ...g, current: c.current(g.name) };
  },

  /**
   * Stores the entries of a trace import in one transaction. params: group, intervalMs, members
   * [{volume, tracks, trackSize}], entries [{start, end, volume, tracks, trackSize, count, writes,
   * writeBytes, enc, length}]; payload: the encoded bitmaps one after another.
   */
  'stats.import': async (ctx, p, payload, _emit, req) => {
    const group = checkName('group', str(p, 'group'));
    const intervalMs = int(p, 'intervalMs', 1);
    if (!Array.isArray(p.members) || !Array.isArray(p.entries)) throw bad("parameters 'members' and 'entries' must be lists");
    const members = p.members.map((m) => {
      const x = m as Record<string, unknown>;
      return { volume: str(x, 'volume'), tracks: int(x, 'tracks'), trackSize: int(x, 'trackSize', 1) };
    });
    const memberNames = new Set(members.map((m) => m.volume));
    const data = payload ?? Buffer.alloc(0);
    let off = 0;
    const entries: EncodedEntry[] = p.entries.map((raw) => {
      const x = raw as Record<string, unknown>;
      const len = int(x, 'length', 0, data.length - off);
      const enc = int(x, 'enc', 0, 1) as typeof ENC_RAW | typeof ENC_RUNS;
      const e: EncodedEntry = {
        start: int(x, 'start', -8.64e15),
        end: int(x, 'end', -8.64e15),
        volume: str(x, 'volume'),
        tracks: int(x, 'tracks'),
        trackSize: int(x, 'trackSize', 1),
        count: int(x, 'count'),
        writes: int(x, 'writes'),
        writeBytes: int(x, 'writeBytes'),
        enc,
        data: data.subarray(off, off + len),
      };
      off += len;
      if (!memberNames.has(e.volume)) throw bad(`entry of '${e.volume}', which is not among the imported devices`);
      checkEntry(e);
      return e;
    });
    if (off !== data.length) throw bad(`the payload has ${data.length - off} bytes more than the entries describe`);
    const c = svc(ctx);
    const existing = c.stats.group(group);
    if (existing) {
      const clash = existing.members.find((m) => !m.external && memberNames.has(m.volume));
      if (clash) throw E.badInput(`trace device '${clash.volume}' has the name of volume '${clash.volume}' of group '${group}'`, 'import into another group');
    }
    // a command interrupted while its entries were checked (its connection closed) changes nothing
    await new Promise((res) => setImmediate(res));
    if (req.signal.aborted) throw E.aborted('the trace import was cancelled by its command; nothing was stored');
    ctx.array.store.tx(() => {
      c.stats.addExternalMembers(group, intervalMs, members);
      c.stats.addEntries(group, entries);
    });
    return c.stats.need(ctx.array.name, group);
  },
};

export const services = [(ctx: HandlerContext): Service => new StatsService(ctx)];
