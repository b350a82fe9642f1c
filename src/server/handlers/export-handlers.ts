/** Controller methods for NBD exports of volumes (src/server/nbd/), and the export registry service. */
import type { Handlers, HandlerContext } from '../handlers.js';
import { ExportRegistry } from '../nbd/exports.js';

const registry = (ctx: HandlerContext): ExportRegistry => ctx.service<ExportRegistry>('nbd-exports');

export const handlers: Handlers = {
  'export.start': async (ctx, p) =>
    registry(ctx).add({ volume: p.volume, name: p.name ?? undefined, socket: p.socket ?? undefined, listen: p.listen ?? undefined, readOnly: p.readOnly === true, tlsPsk: p.tlsPsk ?? undefined }),
  'export.list': async (ctx) => registry(ctx).list(),
  'export.stop': async (ctx, p) => ({ stopped: await registry(ctx).remove(p.volume) }),
};

export const services = [(ctx: HandlerContext) => new ExportRegistry(ctx)];
