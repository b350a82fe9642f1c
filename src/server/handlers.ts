/**
 * The registry of controller methods and background services. Each feature contributes one
 * module under src/server/handlers/ that exports `handlers` (method name → function) and,
 * if it has background work, `services` (constructors of Service objects).
 */
import type { StorageArray } from '../engine/array.js';
import type { PeerPool } from './client.js';

export interface HandlerContext {
  readonly array: StorageArray;
  readonly home: string;
  readonly peers: PeerPool;
  stopping: boolean;
  log(msg: string): void;
  stop(reason: string): Promise<void>;
  service<T extends Service>(name: string): T;
}

export type Emit = (ev: Record<string, unknown>) => void;
export type Params = Record<string, unknown>;
export type Handler = (ctx: HandlerContext, params: Params, payload: Buffer | null, emit: Emit) => Promise<unknown>;

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface HandlerModule {
  handlers?: Record<string, Handler>;
  services?: Array<(ctx: HandlerContext) => Service>;
}

/** Every feature's handler module. Add a line here for a new one. */
const MODULES: Array<() => Promise<HandlerModule>> = [
  () => import('./handlers/array-handlers.js'),
  () => import('./handlers/io-handlers.js'),
  () => import('./handlers/stats-handlers.js'),
  () => import('./handlers/backup-handlers.js'),
  () => import('./handlers/repl-handlers.js'),
];

export async function loadHandlers(): Promise<{ handlers: Record<string, Handler>; services: Array<(ctx: HandlerContext) => Service> }> {
  const handlers: Record<string, Handler> = {};
  const services: Array<(ctx: HandlerContext) => Service> = [];
  for (const load of MODULES) {
    const m = await load();
    Object.assign(handlers, m.handlers ?? {});
    services.push(...(m.services ?? []));
  }
  return { handlers, services };
}
