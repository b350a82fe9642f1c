/** The registry of controller methods and background services: every feature's handler module. */
import { E, InternalError } from '../errors.js';
import type { Emit, Handler, HandlerContext, HandlerModule, RequestContext, Service } from './handlers.js';
import { PARAMS, isMethod, type Method } from './methods.js';
import { paramsError } from './validate.js';

/** Every feature's handler module. Add a line here for a new one. */
const MODULES: Array<() => Promise<HandlerModule>> = [
  () => import('./handlers/array-handlers.js'),
  () => import('./handlers/io-handlers.js'),
  () => import('./handlers/stats-handlers.js'),
  () => import('./handlers/backup-handlers.js'),
  () => import('./handlers/repl-handlers.js'),
  () => import('./handlers/track-read-handlers.js'),
  () => import('./handlers/drill-handlers.js'),
  () => import('./handlers/export-handlers.js'),
  () => import('./transport/service.js'),
  () => import('./handlers/ops-handlers.js'),
  () => import('./handlers/usage-handlers.js'),
  () => import('./handlers/jobs-handlers.js'),
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

/**
 * Runs a request from the wire: an unknown method, or params that are not an object or not what
 * the method's schema says, is ERR_RCOPY_BAD_REQUEST before any handler runs.
 */
export async function invoke(
  handlers: ReadonlyMap<Method, Handler>,
  ctx: HandlerContext,
  method: string,
  params: unknown,
  payload: Buffer | null,
  emit: Emit,
  req: RequestContext = { signal: new AbortController().signal },
): Promise<unknown> {
  const h = isMethod(method) ? handlers.get(method) : undefined;
  if (!h) throw E.malformedRequest(`unknown method '${method}'`, 'the CLI and the controller may be of different versions: restart the controller');
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw E.malformedRequest(`'${method}': params must be an object`);
  const checked = PARAMS[method as Method].safeParse(params);
  if (!checked.success) throw paramsError(method, checked.error);
  // the schemas only check (no defaults, no transforms): the handler gets the params as sent
  return h(ctx, params as Parameters<Handler>[1], payload, emit, req);
}
