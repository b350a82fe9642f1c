/**
 * The array controller: one long-running process per array that owns the engine (the single
 * writer). It serves the CLI and peer controllers over a Unix socket in the array directory and
 * runs the background work (pull loops, collection timers, workloads).
 *
 * Started as:  node controller.js ARRAY_DIR HOME
 * It takes controller.pid with O_EXCL (a stale file of a dead pid is replaced), logs to
 * controller.log in the array directory, and never writes to the caller's stdout/stderr.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { E, RcopyError, InternalError, toRcopyError } from '../errors.js';
import { StorageArray } from '../engine/array/array.js';
import { PRIVATE_ACCESS, STORE_FILE, fileMode, fixMode, setArrayAccess } from '../engine/array/home.js';
import { appendLog, livePid, lockFile, logFile, openLog, pidFile, recordSocket, sockPathFile, socketPath } from '../engine/array/controller-process.js';
import { lockController, type ControllerLock } from '../engine/array/controller-lock.js';
import { requestBuffers } from '../engine/util/buffer-pool.js';
import { FrameDecoder, encodeFrame, isPayload, writeFrame, type Frame, type Payload } from './protocol.js';
import type { Handler, HandlerContext, Service } from './handlers.js';
import type { Method } from './methods.js';
import { invoke, loadHandlers } from './registry.js';
import { PeerPool } from './client.js';
import type { BadInputKind, TransportSeam } from './transport/types.js';

/** How often a controller checks that its array directory is still its own. */
const OWNER_CHECK_MS = 2000;

export class Controller implements HandlerContext {
  private server: net.Server | null = null;
  private handlers = new Map<Method, Handler>();
  readonly services: Service[] = [];
  readonly peers: PeerPool;
  private sockets = new Set<net.Socket>();
  stopping = false;
  private stopWaiters: Array<() => void> = [];

  constructor(
    readonly array: StorageArray,
    readonly home: string,
  ) {
    this.peers = new PeerPool(home);
  }

  log(msg: string): void {
    appendLog(this.array.dir, `${new Date().toISOString()} [${this.array.name}] ${msg}\n`);
  }

  service<T extends Service>(name: string): T {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw new InternalError(`no service '${name}'`);
    return s as T;
  }

  async start(): Promise<void> {
    const reg = await loadHandlers();
    this.handlers = reg.handlers;
    for (const make of reg.services) this.services.push(make(this));
    for (const s of this.services) await s.start();
    const sp = (this.sockPath = socketPath(this.array.dir));
    fs.rmSync(sp, { force: true });
    this.server = net.createServer((sock) => this.serveSocket(sock, null, 'unix'));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      // the umask (0077, or 0027 with --group-access) already keeps others from connecting
      // while the socket is bound; 0600 then leaves the owner alone
      this.server!.listen(sp, () => resolve());
    });
    fs.chmodSync(sp, 0o600);
    recordSocket(this.array.dir, sp);
    this.log(`controller started, pid ${process.pid}, socket ${sp}`);
    // an array directory removed under a running controller (rm -rf of RCOPY_HOME, a test's
    // temporary directory) would leave it running for good, serving files nobody can reach:
    // it stops once its pid file is gone or names another process
    this.watch = setInterval(() => {
      if (!this.ownsPidFile()) void this.stop('the array directory or its pid file was removed');
    }, OWNER_CHECK_MS);
    this.watch.unref();
  }

  private watch: NodeJS.Timeout | null = null;
  private sockPath: string | null = null;

  private ownsPidFile(): boolean {
    try {
      return fs.readFileSync(pidFile(this.array.dir), 'utf8').trim() === String(process.pid);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  }

  /** The seam under the protocol: a Unix-socket connection, or a TCP one once its token is checked. */
  readonly transport: TransportSeam = {
    serveSocket: (sock, first, origin) => this.serveSocket(sock, first, origin),
    countBad: (kind) => void this.badInput[kind]++,
    badInput: { auth: 0, frames: 0, requests: 0 },
  };

  private get badInput(): Record<BadInputKind, number> {
    return this.transport.badInput as Record<BadInputKind, number>;
  }

  private serveSocket(sock: net.Socket, first: Buffer | null, origin: 'unix' | 'tcp'): void {
    this.sockets.add(sock);
    sock.setNoDelay(true);
    const dec = new FrameDecoder(requestBuffers);
    // work a request started for this client (a workload, a backup) stops when the client is gone
    const gone = new AbortController();
    const onChunk = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = dec.push(chunk);
      } catch (e) {
        this.badInput.frames++;
        this.log(`bad frame from a ${origin} client: ${(e as Error).message}`);
        sock.destroy();
        return;
      }
      for (const f of frames) void this.dispatch(sock, f, origin, gone.signal);
    };
    sock.on('data', onChunk);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.sockets.delete(sock);
      gone.abort();
    });
    if (first && first.length) onChunk(first);
  }

  private async dispatch(sock: net.Socket, f: Frame, origin: 'unix' | 'tcp', signal: AbortSignal): Promise<void> {
    const id = f.header.id;
    const method = f.header.m;
    const send = (h: unknown, payload?: Payload | null, written?: () => void): void => {
      if (sock.destroyed) return written?.();
      writeFrame(sock, encodeFrame(h, payload), written);
    };
    try {
      if (typeof id !== 'number' || typeof method !== 'string') {
        throw E.malformedRequest('request without id or method');
      }
      // the token and the listener are managed on the array's host only
      if (origin === 'tcp' && method.startsWith('transport.')) throw E.malformedRequest(`'${method}' is not served over TCP`, "run it on the array's host");
      const out = await invoke(this.handlers, this, method, f.header.p ?? {}, f.payload, (ev) => send({ id, ev }), { signal });
      if (out && typeof out === 'object' && 'payload' in out && isPayload((out as { payload: unknown }).payload)) {
        const o = out as { result?: unknown; payload: Payload; written?: () => void };
        send({ id, r: o.result ?? null }, o.payload, o.written);
      } else {
        send({ id, r: out ?? null });
      }
    } catch (e) {
      // file-system and SQLite errors (a full disk, EIO, EACCES) get their own codes, not INTERNAL
      const err = toRcopyError(e, { array: this.array.name, path: this.array.dir, store: path.join(this.array.dir, STORE_FILE) });
      if (err.code === 'ERR_RCOPY_BAD_REQUEST') this.badInput.requests++;
      if (!(e instanceof RcopyError)) this.log(`${err.code} in '${String(method)}': ${err.code === 'ERR_RCOPY_INTERNAL' ? ((e as Error)?.stack ?? String(e)) : err.message}`);
      send({ id: typeof id === 'number' ? id : 0, e: err.toJSON() });
    }
  }

  private stoppedFlag = false;

  /** Resolves when stop() has finished. */
  waitStopped(): Promise<void> {
    return new Promise((r) => (this.stoppedFlag ? r() : this.stopWaiters.push(r)));
  }

  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.watch) clearInterval(this.watch);
    this.log(`stopping: ${reason}`);
    this.server?.close();
    for (const s of [...this.services].reverse()) {
      try {
        await s.stop();
      } catch (e) {
        this.log(`service ${s.name} failed to stop: ${(e as Error).message}`);
      }
    }
    this.peers.closeAll();
    for (const s of this.sockets) s.end();
    await this.array.close();
    if (this.sockPath) fs.rmSync(this.sockPath, { force: true });
    fs.rmSync(sockPathFile(this.array.dir), { force: true });
    // the last line of the log before the pid file goes: `array stop` returns once the pid file is
    // gone, and a script that then moves or removes the array's directory must find it complete (a
    // test home removed right after the stop failed with ENOTEMPTY: controller.log written again)
    this.log('stopped');
    try {
      if (fs.readFileSync(pidFile(this.array.dir), 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile(this.array.dir));
    } catch {
      /* gone already */
    }
    this.stoppedFlag = true;
    for (const w of this.stopWaiters) w();
  }
}

/**
 * Makes this process the array's controller: the controller lock first (one holder at a time, gone
 * with the process), then the pid file, which only says who holds it.
 */
let heldLock: ControllerLock | null = null;

function takeOwnership(dir: string): ControllerLock | null {
  const lock = lockController(dir);
  if (!lock) return null;
  fs.rmSync(pidFile(dir), { force: true }); // a dead controller's: never written through
  fs.writeFileSync(pidFile(dir), `${process.pid}\n`, { flag: 'wx', mode: fileMode() });
  return lock;
}

async function main(): Promise<void> {
  const [dir, home] = process.argv.slice(2);
  if (!dir || !home) {
    process.stderr.write('usage: controller ARRAY_DIR HOME\n');
    process.exit(2);
  }
  // whatever the caller's umask, what the controller creates is the owner's until the array's
  // access setting is read (StorageArray.open), then as that setting says
  process.umask(PRIVATE_ACCESS.umask);
  const early = (msg: string): void => appendLog(dir, `${new Date().toISOString()} ${msg}\n`);
  try {
    fs.closeSync(openLog(dir));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  let lock: ControllerLock | null;
  try {
    lock = takeOwnership(dir);
  } catch (e) {
    early(`controller failed: cannot take the controller lock: ${(e as Error).message}`);
    process.exit(1);
  }
  if (!lock) {
    early(`another controller (pid ${livePid(dir) ?? '?'}) owns this array; exiting`);
    process.exit(0);
  }
  heldLock = lock; // referenced for the life of the process (a collected handle would drop the lock)
  let ctl: Controller | null = null;
  const shutdown = (why: string): void => {
    if (!ctl) process.exit(0);
    void ctl.stop(why).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => undefined);
  process.on('uncaughtException', (e) => {
    early(`uncaught exception: ${e.stack ?? e.message}`);
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    early(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  });
  try {
    const array = await StorageArray.open(dir);
    process.umask(setArrayAccess(array.access === 'group').umask);
    for (const f of [logFile(dir), pidFile(dir)]) fixMode(f);
    // by path: closing any descriptor of the lock file would drop this process's lock on it (POSIX
    // record locks belong to the process and file, not the descriptor), which fixMode's open does
    fs.chmodSync(lockFile(dir), fileMode());
    ctl = new Controller(array, home);
    await ctl.start();
    await ctl.waitStopped();
    heldLock?.release();
    process.exit(0);
  } catch (e) {
    // an error the user can act on is one line (the CLI shows the last line of the log)
    early(e instanceof RcopyError ? `controller failed: ${e.code}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}` : `controller failed: ${(e as Error).stack ?? String(e)}`);
    try {
      fs.rmSync(pidFile(dir), { force: true });
    } catch {
      /* nothing */
    }
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  void main();
}
