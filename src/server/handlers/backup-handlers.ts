/** Controller methods for backups, and the service that owns the backup catalogue of the array. */
import { BackupManager, type BackupRecord } from '../../engine/backup/manager.js';
import { E } from '../../errors.js';
import type { Emit, HandlerContext, Handlers, Params, Service } from '../handlers.js';
import { bool, int, optInt, optNum, optStr, str } from '../validate.js';
import { jobs } from './jobs-handlers.js';
import { recordedView, viewBackupSource } from './drill-handlers.js';

export class BackupService implements Service {
  readonly name = 'backup';
  readonly mgr: BackupManager;
  constructor(ctx: HandlerContext) {
    this.mgr = new BackupManager(ctx.array, (m) => ctx.log(m));
  }
  async start(): Promise<void> {
    await this.mgr.start();
  }
  async stop(): Promise<void> {
    await this.mgr.stop();
  }
}

const mgr = (ctx: HandlerContext): BackupManager => ctx.service<BackupService>('backup').mgr;

const INFO_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

function infoMap(p: Params): Record<string, string> {
  const v = p.info;
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw E.badInput("parameter 'info' must be an object of key=value strings");
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 64) throw E.badInput('at most 64 --info entries');
  for (const [k, val] of entries) {
    if (!INFO_KEY.test(k)) throw E.badInput(`invalid --info key '${k}'`, 'keys use letters, digits, . _ and -, at most 64 characters');
    if (typeof val !== 'string' || val.length > 1024) throw E.badInput(`invalid --info value for '${k}'`, 'values are strings of at most 1024 characters');
    out[k] = val;
  }
  return out;
}

/** Progress events at most every 200 ms (and the last one). */
function throttled(emit: Emit, on: boolean): ((done: number, total: number) => void) | undefined {
  if (!on) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 200) return;
    last = now;
    emit({ done, total });
  };
}

export const handlers: Handlers = {
  'backup.create': async (ctx, p, _payload, emit, req) => {
    const label = optStr(p, 'label');
    if (label !== undefined && label.length > 256) throw E.badInput('a label has at most 256 characters');
    const source = str(p, 'source');
    const target = str(p, 'target');
    // a drill's view (VOL@DRILL): a full copy of the view, its writes held off until copied
    const view = viewBackupSource(ctx, source);
    if (view && bool(p, 'incremental')) throw E.usage(`a drill's view (${ctx.array.name}:${source}) is backed up in full`, 'leave out --incremental');
    // a job: jobs stop, or its command going away (Ctrl-C), cancels it; nothing stays in the catalogue
    const job = jobs(ctx).begin('backup', `backup of ${ctx.array.name}:${source} into ${target}`, req.signal);
    emit({ job: job.view.id });
    try {
      const run = (): Promise<BackupRecord> =>
        mgr(ctx).create(
          {
            source,
            target,
            label,
            info: infoMap(p),
            incremental: bool(p, 'incremental'),
            keep: optInt(p, 'keep', 1, 100000),
            rate: optNum(p, 'rate', 1),
            stopped: () => job.reason,
            sourceVolume: view?.source,
          },
          throttled(emit, bool(p, 'progress')),
        );
      return await (view ? view.hold(run) : run());
    } finally {
      job.end();
    }
  },

  'backup.list': async (ctx, p) => {
    const source = optStr(p, 'source');
    // a plain volume of the array, or a drill's view (VOL@DRILL), running or not: its backups outlive it
    if (source !== undefined && !recordedView(ctx, source)) ctx.array.volume(source);
    return mgr(ctx).list(source);
  },

  'backup.show': async (ctx, p) => mgr(ctx).show(int(p, 'number', 1)),

  'backup.verify': async (ctx, p, _payload, emit) => mgr(ctx).verify(int(p, 'number', 1), throttled(emit, bool(p, 'progress'))),

  'backup.checkRestore': async (ctx, p) => mgr(ctx).checkRestore(int(p, 'number', 1), optStr(p, 'to')),

  'backup.restore': async (ctx, p, _payload, emit) => mgr(ctx).restore(int(p, 'number', 1), optStr(p, 'to'), throttled(emit, bool(p, 'progress'))),

  'backup.delete': async (ctx, p) => mgr(ctx).remove(int(p, 'number', 1)),
};

export const services = [(ctx: HandlerContext): Service => new BackupService(ctx)];
