/** Controller methods listing and stopping the work commands started here (src/server/jobs.ts). */
import type { HandlerContext, Handlers } from '../handlers.js';
import { JobRegistry } from '../jobs.js';

export const jobs = (ctx: HandlerContext): JobRegistry => ctx.service<JobRegistry>('jobs');

export const handlers: Handlers = {
  'jobs.list': async (ctx) => jobs(ctx).list(),
  'jobs.stop': async (ctx, p) => jobs(ctx).stopJobs(p.id ?? null, p.kind ?? null, p.reason ?? 'stopped by rcopy jobs stop'),
};

export const services = [() => new JobRegistry()];
