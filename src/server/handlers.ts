/**
 * The types of controller methods and background services. Each feature contributes one module
 * under src/server/handlers/ that exports `handlers` (a handler for each of its methods of the
 * contract, methods.ts) and, if it has background work, `services` (constructors of Service
 * objects); registry.ts gathers them.
 */
import type { StorageArray } from '../engine/array/array.js';
import type { PeerPool } from './client.js';
import type { Method, ParamsOf, ResultOf } from './methods.js';
import type { Payload } from './protocol.js';

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
export type { Params } from './validate.js';

/** A result with bulk data: `result` goes in the reply's header, `payload` after it. */
export interface WithPayload<R> {
  result: R;
  payload: Payload;
  /** Called once the socket has taken the payload (its buffers may be reused from then on). */
  written?: () => void;
}

/** One request: its signal is aborted when the connection that sent it closes (the client is gone). */
export interface RequestContext {
  signal: AbortSignal;
}

/** The handler of method M: its params were checked against the contract's schema. */
export type Handler<M extends Method = Method> = (ctx: HandlerContext, params: ParamsOf<M>, payload: Buffer | null, emit: Emit, req: RequestContext) => Promise<ResultOf<M> | WithPayload<ResultOf<M>>>;

/** Handlers of some methods of the contract (a feature's module). */
export type Handlers = { [M in Method]?: Handler<M> };

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface HandlerModule {
  handlers?: Handlers;
  services?: Array<(ctx: HandlerContext) => Service>;
}
