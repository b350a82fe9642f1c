/**
 * Reaching an array's controller: from the CLI (which starts the controller on first use) and
 * from another controller (a peer; never started from here: a peer that is down is a link error).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { E } from '../errors.js';
import { checkSocket, controllerSocket, livePid, logFile, openLog } from '../engine/array/controller-process.js';
import { RpcClient } from './protocol.js';
import { connectRemoteArray, whereIs, type Whereabouts } from './transport/resolve.js';

const CONTROLLER_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'controller.js');

/**
 * V8 flags every controller runs with. --interrupt-budget: how much bytecode a function runs
 * between V8's checks whether to optimize it with TurboFan (default 66 KiB, optimized after 3).
 * A controller's jobs are mostly short bursts: a resync after 1% of 4 GiB runs its per-track
 * code about 650 times in 0.2 s, and with the default the secondary spent about as much CPU
 * compiling and deoptimizing that code (TurboFan took 100-170 ms per resync, on a background
 * thread that competes for the same two cores) as doing the resync. 16x the default: the
 * secondary's CPU for a first resync fell from about 250 to 135 ms; code that runs for seconds
 * (pull, restore, NBD, workloads) is still optimized within its first fraction of a second.
 * bench/HISTORY.md (session 16) has the measurements.
 */
const CONTROLLER_V8_FLAGS = ['--interrupt-budget=1081344'];

/**
 * Connects to the controller of an array directory, or null when none answers. Before it connects
 * it checks that the socket and its directory are the current user's (checkSocket): a socket that
 * another user could have put there is refused (ERR_RCOPY_UNSAFE_SOCKET), never talked to.
 */
export async function tryConnect(dir: string, label: string): Promise<RpcClient | null> {
  const sp = controllerSocket(dir);
  if (!checkSocket(sp)) return null;
  try {
    return await RpcClient.connect(sp, label, 3000);
  } catch {
    return null;
  }
}

/** Starts the controller of an array directory in the background; resolves once it answers. */
export async function startController(dir: string, home: string, label: string): Promise<RpcClient> {
  const existing = await tryConnect(dir, label);
  if (existing) return existing;
  const log = openLog(dir);
  // RCOPY_CONTROLLER_NODE_ARGS: extra node flags for the controller (e.g. --cpu-prof for profiling);
  // they come after CONTROLLER_V8_FLAGS, so a flag given again there wins (A/B runs of the budget)
  const nodeArgs = (process.env.RCOPY_CONTROLLER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...CONTROLLER_V8_FLAGS, ...nodeArgs, CONTROLLER_JS, dir, home], {
    detached: true,
    stdio: ['ignore', log, log],
    // more threads for file I/O: copies, resyncs and saves issue many positional reads at once
    env: { UV_THREADPOOL_SIZE: '16', ...process.env, RCOPY_HOME: home },
  });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const c = await tryConnect(dir, label);
    if (c) return c;
    if (exited && livePid(dir) === null) {
      const tail = readTail(logFile(dir));
      throw E.controllerStart(`the controller of '${label}' failed to start`, `see ${logFile(dir)}: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw E.controllerStart(`the controller of '${label}' did not answer within 20 s`, `see ${logFile(dir)}`);
}

function readTail(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    return (lines[lines.length - 1] ?? '').slice(0, 300);
  } catch {
    return 'no log';
  }
}

/** CLI side: connect to (and if needed start) the controller of a named array. */
export async function connectArray(name: string, home: string, opts: { autostart?: boolean } = {}): Promise<RpcClient> {
  const where = whereIs(name, home);
  if (where.remote) return connectRemoteArray(where.remote);
  const dir = where.dir;
  if (opts.autostart === false) {
    const c = await tryConnect(dir, name);
    if (!c) throw E.notRunning(name);
    return c;
  }
  return startController(dir, home, name);
}

/** Controller side: cached connections to peer arrays' controllers. */
export class PeerPool {
  private conns = new Map<string, RpcClient>();
  private connecting = new Map<string, Promise<RpcClient>>();

  constructor(private readonly home: string) {}

  async get(name: string): Promise<RpcClient> {
    const c = this.conns.get(name);
    if (c && !c.isClosed) return c;
    const p = this.connecting.get(name);
    if (p) return p;
    const attempt = (async () => {
      let where: Whereabouts;
      try {
        where = whereIs(name, this.home);
      } catch (e) {
        throw E.peer(`peer array '${name}' is not known here: ${(e as Error).message}`, `on this host: rcopy remote add ${name} HOST:PORT --token-file F ...`);
      }
      const conn = where.remote ? await connectRemoteArray(where.remote) : await tryConnect(where.dir, name);
      if (!conn) {
        throw E.peerDown(name);
      }
      this.conns.set(name, conn);
      return conn;
    })();
    this.connecting.set(name, attempt);
    try {
      return await attempt;
    } finally {
      this.connecting.delete(name);
    }
  }

  drop(name: string): void {
    this.conns.get(name)?.close();
    this.conns.delete(name);
  }

  closeAll(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}
