/** The registry of controller methods and background services: every feature's handler module. */
import { InternalError } from '../errors.js';
import type { Handler, HandlerContext, HandlerModule, Service } from './handlers.js';
import { PARAMS, type Method } from './methods.js';

/** Every feature's handler module. Add a line here for a new one. */
const MODULES: Array<() => Promise<HandlerModule>> = [
  () => import('./handlers/array-handlers.js'),
  () => import('./handlers/io-handlers.js'),
  () => import('./handlers/stats-handlers.js'),
  () => import('./handlers/backup-handlers.js'),
  () => import('./handlers/repl-handlers.js'),
];

/** The handler of every method of the contract (a method without one is a bug), and the services. */
export async function loadHandlers(): Promise<{ handlers: Map<Method, Handler>; services: Array<(ctx: HandlerContext) => Service> }> {
  const handlers = new Map<Method, Handler>();
  const services: Array<(ctx: HandlerContext) => Service> = [];
  for (const load of MODULES) {
    const m = await load();
    for (const [name, h] of Object.entries(m.handlers ?? {})) handlers.set(name as Method, h as Handler);
    services.push(...(m.services ?? []));
  }
  const missing = (Object.keys(PARAMS) as Method[]).filter((name) => !handlers.has(name));
  if (missing.length) throw new InternalError(`no handler for ${missing.join(', ')}`);
  return { handlers, services };
}
