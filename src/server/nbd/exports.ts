/**
 * The NBD exports of an array, served by its controller: each export is a listener (a Unix socket,
 * private to the owner like the controller's, or a TCP port on the loopback) for one volume. The
 * list is part of the array's state (the `nbd.exports` key of mgmt.db): a restarted controller
 * serves the same exports again. Every write is a host write through StorageArray.write.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { E } from '../../errors.js';
import { runtimeDir } from '../../engine/array/controller-process.js';
import type { HandlerContext, Service } from '../handlers.js';
import type { ReplService } from '../handlers/repl-handlers.js';
import { readPskFile, type PskKeys } from '../psk-file.js';
import { handshake, type ExportTarget } from './handshake.js';
import { TlsFailed, type Conn } from './tls.js';
import { transmission, type Backend } from './transmission.js';
import type { ExportRecord, ExportView } from './types.js';
import { Closed, SocketReader } from './wire.js';
import { DirectInput, chunkSink } from './direct.js';
import { splitViewName } from '../../engine/drill/volume-view.js';
import { viewOf, writeView, type DrillService } from '../handlers/drill-handlers.js';

const STATE_KEY = 'nbd.exports';
const MAX_SOCKET_PATH = 100;
const HANDSHAKE_TIMEOUT_MS = 30_000;

interface Live {
  rec: ExportRecord;
  server: net.Server | null;
  conns: Set<net.Socket>;
  /** Each connection's work: awaited before the array closes (in-flight writes finish). */
  tasks: Set<Promise<void>>;
  bytesRead: number;
  bytesWritten: number;
  error: string | null;
  /** The PSK file's keys while served with TLS. */
  keys: PskKeys | null;
}

/**
 * The URI a libnbd client opens (nbd_connect_uri). With TLS: nbds://, the PSK file as the query
 * parameter tls-psk-file, and the TLS user name (the first of the file) in the authority, as
 * libnbd 1.14 reads it (`nbds+unix://alice@/vol?socket=…`; without one it asks getlogin).
 */
export function uriOf(rec: ExportRecord, user?: string): string {
  const q: string[] = [];
  if (rec.socket) q.push(`socket=${rec.socket}`);
  if (rec.tlsPsk) q.push(`tls-psk-file=${rec.tlsPsk}`);
  const s = rec.tlsPsk ? 'nbds' : 'nbd';
  const who = rec.tlsPsk && user ? `${encodeURIComponent(user)}@` : '';
  const name = encodeURIComponent(rec.name);
  const query = q.length ? `?${q.join('&')}` : '';
  return rec.socket ? `${s}+unix://${who}/${name}${query}` : `${s}://${who}${rec.listen}/${name}${query}`;
}

/** The default socket of an export: in the array directory, or the private runtime directory when that path is too long. */
export function defaultSocket(dir: string, name: string): string {
  const p = path.join(dir, `nbd-${name}.sock`);
  if (Buffer.byteLength(p) < MAX_SOCKET_PATH) return p;
  const h = createHash('sha256')
    .update(`${path.resolve(dir)}\0${name}`)
    .digest('hex')
    .slice(0, 20);
  return path.join(runtimeDir(), `${h}.nbd.sock`);
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw E.usage(`--listen '${s}' is not 127.0.0.1:PORT`, 'exports listen on the loopback only, e.g. --listen 127.0.0.1:10809');
  return { host: m[1] === '[::1]' ? '::1' : m[1]!, port: Number(m[2]) };
}

export class ExportRegistry implements Service {
  readonly name = 'nbd-exports';
  private live = new Map<string, Live>();

  constructor(private readonly ctx: HandlerContext) {}

  private records(): ExportRecord[] {
    return this.ctx.array.store.getJson<ExportRecord[]>(STATE_KEY, []);
  }

  private save(): void {
    this.ctx.array.store.setJson(
      STATE_KEY,
      [...this.live.values()].map((l) => l.rec),
    );
  }

  async start(): Promise<void> {
    // a drill's view goes with its drill: drill stop (or a limit, or --yes of a group command) ends its exports
    this.ctx.service<DrillService>('drills').viewsEnd.push((drill) => this.removeDrill(drill));
    let dropped = false;
    for (const rec of this.records()) {
      const gone = this.viewGone(rec.volume);
      if (gone) {
        this.ctx.log(`NBD export '${rec.name}' dropped: ${gone}`);
        dropped = true;
        continue;
      }
      const l = this.track(rec);
      try {
        await this.listen(l);
      } catch (e) {
        l.error = (e as Error).message;
        this.ctx.log(`NBD export '${rec.name}' not served: ${l.error}`);
      }
    }
    if (dropped) this.save();
  }

  /** Why an exported drill view (VOL@DRILL) is no more (its drill stopped), or null. */
  private viewGone(volume: string): string | null {
    if (!splitViewName(volume)) return null;
    try {
      viewOf(this.ctx, volume);
      return null;
    } catch (e) {
      return `its drill view ${volume} no longer exists (${(e as Error).message})`;
    }
  }

  /** Stops the exports of a drill's views (the drill ends); their clients are disconnected. */
  async removeDrill(drill: string): Promise<string[]> {
    const gone = [...this.live.values()].filter((l) => splitViewName(l.rec.volume)?.drill === drill);
    for (const l of gone) {
      await this.close(l);
      this.live.delete(l.rec.name);
      this.ctx.log(`NBD export '${l.rec.name}' of drill view '${l.rec.volume}' stopped: the drill ends`);
    }
    if (gone.length) this.save();
    return gone.map((l) => l.rec.name);
  }

  async stop(): Promise<void> {
    for (const l of this.live.values()) await this.close(l);
  }

  private track(rec: ExportRecord): Live {
    rec.tlsPsk ??= null; // kept before TLS existed
    const l: Live = { rec, server: null, conns: new Set(), tasks: new Set(), bytesRead: 0, bytesWritten: 0, error: null, keys: null };
    this.live.set(rec.name, l);
    return l;
  }

  /** Starts an export of a volume (one per volume, names unique in the array). */
  async add(opts: { volume: string; name?: string; socket?: string; listen?: string; readOnly: boolean; tlsPsk?: string }): Promise<ExportView> {
    if (opts.socket && opts.listen) throw E.usage('--socket and --listen exclude each other');
    if (opts.listen) parseListen(opts.listen);
    if (opts.tlsPsk && !path.isAbsolute(opts.tlsPsk)) throw E.usage(`--tls-psk '${opts.tlsPsk}' is not an absolute path`);
    // a drill's view (VOL@DRILL) of a running drill, else a volume of the array
    if (!viewOf(this.ctx, opts.volume)) this.ctx.array.volume(opts.volume);
    // read now, so that a bad file is the command's error and changes nothing
    const keys = opts.tlsPsk ? readPskFile(opts.tlsPsk) : null;
    const name = opts.name ?? opts.volume;
    const socket = opts.listen ? null : path.resolve(opts.socket ?? defaultSocket(this.ctx.array.dir, name));
    for (const l of this.live.values()) {
      // a re-run with the same options: the export is there as asked
      const same =
        l.rec.volume === opts.volume &&
        l.rec.name === name &&
        l.rec.socket === socket &&
        l.rec.listen === (opts.listen ?? null) &&
        l.rec.readOnly === opts.readOnly &&
        l.rec.tlsPsk === (keys?.file ?? null);
      if (same) return { ...this.view(l), already: true };
      if (l.rec.volume === opts.volume) throw E.state(`volume '${opts.volume}' is exported already as '${l.rec.name}'`, `run 'rcopy export stop ${this.ctx.array.name}:${opts.volume}' first`);
      if (l.rec.name === name) throw E.state(`an export named '${name}' exists already`, 'choose another --name');
    }
    const rec: ExportRecord = { name, volume: opts.volume, socket, listen: opts.listen ?? null, readOnly: opts.readOnly, tlsPsk: keys?.file ?? null, created: Date.now() };
    const l = this.track(rec);
    try {
      await this.listen(l);
    } catch (e) {
      this.live.delete(name);
      throw E.badInput(`cannot serve export '${name}': ${(e as Error).message}`, rec.socket ? 'choose another --socket' : 'choose another port');
    }
    this.save();
    this.ctx.log(`NBD export '${name}' of volume '${rec.volume}' at ${uriOf(rec)}`);
    return this.view(l);
  }

  /** Stops the exports of a volume (or all); their clients are disconnected. */
  async remove(volume: string | null): Promise<string[]> {
    const gone = [...this.live.values()].filter((l) => volume === null || l.rec.volume === volume);
    if (volume !== null && gone.length === 0) throw E.notFound('export of volume', `${this.ctx.array.name}:${volume}`, `run 'rcopy export list ${this.ctx.array.name}'`);
    for (const l of gone) {
      await this.close(l);
      this.live.delete(l.rec.name);
    }
    this.save();
    return gone.map((l) => l.rec.name);
  }

  /** Refuses to let a volume go while it is exported (volume delete). */
  checkNotExported(volume: string): void {
    const l = [...this.live.values()].find((x) => x.rec.volume === volume);
    if (l) throw E.volumeInUse(`volume ${this.ctx.array.name}:${volume} is exported over NBD as '${l.rec.name}'`, `run 'rcopy export stop ${this.ctx.array.name}:${volume}' first`, 'usage');
  }

  list(): ExportView[] {
    return [...this.live.values()].map((l) => this.view(l));
  }

  private view(l: Live): ExportView {
    return {
      ...l.rec,
      array: this.ctx.array.name,
      uri: uriOf(l.rec, l.keys?.users[0]),
      serving: l.server !== null,
      error: l.error,
      clients: l.conns.size,
      bytesRead: l.bytesRead,
      bytesWritten: l.bytesWritten,
    };
  }

  private async listen(l: Live): Promise<void> {
    // the keys are read at every start: a key file changed or gone since is seen (and named) here
    l.keys = l.rec.tlsPsk ? readPskFile(l.rec.tlsPsk) : null;
    // paused: a plain connection's reading starts once DirectInput has taken it over
    const server = net.createServer({ pauseOnConnect: true }, (sock) => {
      const t = this.serve(l, sock).finally(() => l.tasks.delete(t));
      l.tasks.add(t);
    });
    const rec = l.rec;
    if (rec.socket) {
      const st = fs.lstatSync(rec.socket, { throwIfNoEntry: false });
      if (st && !st.isSocket()) throw new Error(`${rec.socket} exists and is not a socket`);
      if (st) fs.rmSync(rec.socket); // a stale one of a controller that was killed
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (rec.socket) server.listen(rec.socket, () => resolve());
      else {
        const { host, port } = parseListen(rec.listen!);
        server.listen(port, host, () => resolve());
      }
    });
    server.on('error', (e) => this.ctx.log(`NBD export '${rec.name}': ${e.message}`));
    if (rec.socket) fs.chmodSync(rec.socket, 0o600);
    else if (parseListen(rec.listen!).port === 0) rec.listen = `${parseListen(rec.listen!).host}:${(server.address() as net.AddressInfo).port}`;
    l.server = server;
    l.error = null;
  }

  private async close(l: Live): Promise<void> {
    const s = l.server;
    l.server = null;
    if (!s) return;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const c of l.conns) c.destroy();
    await closed;
    await Promise.allSettled([...l.tasks]);
    if (l.rec.socket) fs.rmSync(l.rec.socket, { force: true });
  }

  /** An event in the array's management store (`rcopy events`, kind `export`); never fails the connection. */
  private event(text: string): void {
    try {
      this.ctx.service<ReplService>('replication').r.records.rs.event(null, text);
    } catch (e) {
      this.ctx.log(`event not recorded (${text}): ${(e as Error).message}`);
    }
  }

  private backend(l: Live, mine: { read: number; written: number }): Backend {
    const array = this.ctx.array;
    const vol = l.rec.volume;
    const ctx = this.ctx;
    // a drill's view: reads the view, writes its overlay (each durable; never the S-VOL); looked
    // up at every request, so that a request after the drill ended fails (drill stop also ends the export)
    const io: Pick<Backend, 'size' | 'read' | 'write' | 'flush' | 'isAllocated'> = splitViewName(vol)
      ? {
          size: () => viewOf(ctx, vol)!.size,
          read: (offset, length) => viewOf(ctx, vol)!.read(offset, length),
          write: (offset, data) => writeView(ctx, vol, offset, data),
          flush: async () => void viewOf(ctx, vol),
          isAllocated: () => true,
        }
      : {
          size: () => array.volume(vol).size,
          read: (offset, length) => array.read(vol, offset, length),
          write: (offset, data, fua) => array.write(vol, offset, data, 'host', { sync: fua }),
          flush: () => array.commit(),
          isAllocated: (t) => array.volume(vol).isAllocated(t),
        };
    return {
      readOnly: l.rec.readOnly,
      trackSize: array.trackSize,
      ...io,
      counted: (r, w) => {
        l.bytesRead += r;
        l.bytesWritten += w;
        mine.read += r;
        mine.written += w;
      },
      log: (m) => this.ctx.log(`export '${l.rec.name}': ${m}`),
    };
  }

  private async serve(l: Live, accepted: net.Socket): Promise<void> {
    // a plain connection is read straight into the requests' buffers (direct.ts); TLS the usual way
    let reader: SocketReader | null = null;
    const direct = l.keys
      ? null
      : DirectInput.adopt(
          accepted,
          chunkSink((c) => reader?.push(c)),
        );
    const sock = direct?.sock ?? accepted;
    l.conns.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    reader = new SocketReader(sock);
    const conn: Conn = { sock, reader };
    const mine = { read: 0, written: 0 };
    const be = this.backend(l, mine);
    let connected = false;
    const target: ExportTarget = { name: l.rec.name, readOnly: l.rec.readOnly, size: be.size, tls: l.keys };
    // a client that takes too long over the handshake is dropped; once transmitting it may stay idle
    const timer = setTimeout(() => sock.destroy(), HANDSHAKE_TIMEOUT_MS);
    try {
      const st = await handshake(conn, target);
      clearTimeout(timer);
      if (st) {
        connected = true;
        this.event(`export client connected to '${l.rec.name}' (volume ${l.rec.volume}, ${l.conns.size} client${l.conns.size === 1 ? '' : 's'})`);
        await transmission(conn.sock, conn.reader, be, st, conn.sock === sock ? direct : null);
      }
    } catch (e) {
      if (e instanceof TlsFailed) this.ctx.log(`NBD export '${l.rec.name}': ${e.message}`);
      else if (!(e instanceof Closed)) this.ctx.log(`NBD export '${l.rec.name}': connection failed: ${(e as Error).stack ?? String(e)}`);
    } finally {
      clearTimeout(timer);
      l.conns.delete(sock);
      if (connected) this.event(`export client disconnected from '${l.rec.name}' (read ${mine.read} bytes, wrote ${mine.written} bytes)`);
      conn.sock.end();
      if (conn.sock !== sock) sock.end();
    }
  }
}
