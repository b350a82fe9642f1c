/**
 * Two (or more) arrays in one process, for replication tests without controller processes: each
 * array runs the controller's real handlers and services; a call to a peer goes straight to the
 * peer's handler (no socket, no framing), so a test reaches every step of a pull, a copy or a
 * resync with ordinary awaits and stack traces that cross both sides.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageArray } from '../../../src/engine/array/array.js';
import type { PeerCaller } from '../../../src/engine/repl/peer.js';
import type { PeerPool } from '../../../src/server/client.js';
import type { Handler, HandlerContext, Service } from '../../../src/server/handlers.js';
import type { Method } from '../../../src/server/methods.js';
import { invoke, loadHandlers } from '../../../src/server/registry.js';
import { waitFor } from '../../helpers.js';

type Payload = Buffer | Buffer[] | null | undefined;

function joined(p: Payload): Buffer | null {
  if (!p) return null;
  return Array.isArray(p) ? Buffer.concat(p) : p;
}

class Site implements HandlerContext {
  stopping = false;
  readonly services: Service[] = [];
  readonly logs: string[] = [];
  peers!: PeerPool;

  constructor(
    readonly array: StorageArray,
    readonly home: string,
  ) {}

  log(msg: string): void {
    this.logs.push(msg);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of [...this.services].reverse()) await s.stop();
    await this.array.close();
  }

  service<T extends Service>(name: string): T {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw new Error(`no service '${name}'`);
    return s as T;
  }
}

export class InProcessArrays {
  private readonly sites = new Map<string, Site>();
  private handlers = new Map<Method, Handler>();

  private constructor(readonly dir: string) {}

  /** Arrays NAMES in a fresh temporary directory, each started like a controller. */
  static async open(...names: string[]): Promise<InProcessArrays> {
    const t = new InProcessArrays(fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-inproc-')));
    try {
      const reg = await loadHandlers();
      t.handlers = reg.handlers;
      for (const name of names) {
        const array = await StorageArray.create(path.join(t.dir, name), { name, durability: 'none' });
        const site = new Site(array, t.dir);
        site.peers = { get: async (peer: string) => t.caller(peer), drop: () => undefined } as unknown as PeerPool;
        t.sites.set(name, site);
        for (const make of reg.services) site.services.push(make(site));
      }
      for (const site of t.sites.values()) for (const s of site.services) await s.start();
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  private caller(name: string): PeerCaller {
    return {
      call: async (method, params, opts) => {
        const out = await this.raw(name, method, (params ?? {}) as Record<string, unknown>, opts?.payload ?? null);
        if (out && typeof out === 'object' && 'payload' in out) {
          const o = out as { result?: unknown; payload: Payload };
          return { result: (o.result ?? null) as never, payload: joined(o.payload) };
        }
        return { result: (out ?? null) as never, payload: null };
      },
    };
  }

  private async raw(name: string, method: string, params: Record<string, unknown>, payload: Buffer | null): Promise<unknown> {
    const site = this.sites.get(name);
    if (!site || site.stopping) throw Object.assign(new Error(`the controller of peer array '${name}' is not running`), { code: 'ERR_RCOPY_PEER_DOWN', kind: 'peer' });
    // as a controller does: the params are checked against the contract before the handler runs
    return invoke(this.handlers, site, method, params, payload, () => undefined);
  }

  /** Calls a method on an array as the CLI would (the result, not the payload). */
  async call<T = any>(name: string, method: string, params: Record<string, unknown> = {}, payload: Buffer | null = null): Promise<T> {
    const out = await this.raw(name, method, params, payload);
    if (out && typeof out === 'object' && 'payload' in out && 'result' in out) return (out as { result: T }).result;
    return out as T;
  }

  /** A pair's side as `pair show` gives it. */
  show(name: string, id: string): Promise<{ state: string; reason: string | null; [k: string]: unknown }> {
    return this.call(name, 'pair.show', { id });
  }

  async waitState(name: string, id: string, state: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => (await this.show(name, id)).state === state, timeoutMs, 20);
  }

  async checksum(name: string, volume: string): Promise<string> {
    return (await this.call<{ sha256: string }>(name, 'io.checksum', { volume })).sha256;
  }

  logs(name: string): string[] {
    return this.sites.get(name)?.logs ?? [];
  }

  async close(): Promise<void> {
    for (const s of this.sites.values()) await s.stop().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
