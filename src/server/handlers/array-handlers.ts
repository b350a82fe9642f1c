/** Controller methods for the array itself and its volumes. */
import type { Handlers } from '../handlers.js';
import { int, str } from '../validate.js';
import { checkName } from '../../units.js';
import type { ExportRegistry } from '../nbd/exports.js';
import { viewOf } from './drill-handlers.js';

export const handlers: Handlers = {
  'controller.ping': async (ctx) => ({ pid: process.pid, name: ctx.array.name, uptime: process.uptime() }),

  'controller.stop': async (ctx) => {
    setImmediate(() => void ctx.stop('stop requested'));
    return { pid: process.pid, stopping: true };
  },

  'array.info': async (ctx) => ({ ...ctx.array.info(), pid: process.pid }),

  'volume.create': async (ctx, p) => {
    const name = checkName('volume', str(p, 'name'));
    return ctx.array.createVolume(name, int(p, 'size', 1));
  },

  'volume.list': async (ctx) => [...ctx.array.volumes.values()].map((v) => v.info()),

  'volume.show': async (ctx, p) => {
    // a drill's view (VOL@DRILL) has the size and tracks of its S-VOL
    const view = viewOf(ctx, str(p, 'name'));
    return view ? { ...view.vol.info(), name: str(p, 'name') } : ctx.array.volume(str(p, 'name')).info();
  },

  'volume.delete': async (ctx, p) => {
    const name = str(p, 'name');
    ctx.service<ExportRegistry>('nbd-exports').checkNotExported(name);
    await ctx.array.deleteVolume(name);
    return { deleted: name };
  },
};
