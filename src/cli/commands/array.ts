/** rcopy array create|list|show|delete|start|stop|status */
import fs from 'node:fs';
import { StorageArray, type Durability } from '../../engine/array/array.js';
import { peekArray } from '../../engine/array/offline.js';
import { arrayDir, arraysDir, ensureHome, existingArrayDir, isArrayDir, listArrayNames } from '../../engine/array/home.js';
import { controllerSocket, livePid } from '../../engine/array/controller-process.js';
import { awaitControllerExit } from '../../engine/array/controller-process.js';
import { deleteArrayFiles } from '../../engine/array/home.js';
import { startController, tryConnect } from '../../server/client.js';
import { E } from '../../errors.js';
import { checkName, formatBytes, parseSize } from '../../units.js';
import type { CliContext, CommandOpts } from '../context.js';
import { iso, type Output } from '../render/output.js';
import { need } from '../ui.js';
import type { ResultOf } from '../../server/methods.js';
import { arrayChoices, pickArray } from './common.js';
import path from 'node:path';

type Args = Array<string | string[] | undefined>;

export async function create(ctx: CliContext, [nameArg]: Args, opts: CommandOpts): Promise<Output> {
  const name = checkName('array', await need(ctx, nameArg as string | undefined, { name: 'the array name', message: 'Name of the new array:' }));
  const trackSize = parseSize(opts.trackSize ?? '64k');
  const dir = arrayDir(name, ctx.home);
  const groupAccess = !!opts.groupAccess;
  ensureHome(ctx.home, { share: groupAccess });
  const a = await StorageArray.create(dir, { name, serial: opts.serial, trackSize, durability: (opts.durability ?? 'fsync') as Durability, groupAccess });
  const info = a.info();
  await a.close();
  const shared = groupAccess ? ', readable by its group' : '';
  return { data: info, text: `created array ${name} (serial ${info.serial}, track size ${formatBytes(info.trackSize)}, durability ${info.durability}${shared}) in ${dir}` };
}

function statusOf(dir: string): { running: boolean; pid: number | null; socket: string | null } {
  const pid = livePid(dir);
  let socket: string | null;
  try {
    socket = controllerSocket(dir);
  } catch {
    socket = null; // no safe place for it (see array status)
  }
  return { running: pid !== null, pid, socket };
}

export async function list(ctx: CliContext, _a?: Args, _o?: CommandOpts): Promise<Output> {
  const rows = [];
  for (const n of listArrayNames(ctx.home)) {
    const dir = path.join(arraysDir(ctx.home), n);
    if (!isArrayDir(dir)) continue;
    const info = peekArray(dir);
    rows.push({ ...info, ...statusOf(dir) });
  }
  return {
    data: rows,
    table: {
      head: ['array', 'serial', 'track size', 'volumes', 'durability', 'controller'],
      rows: rows.map((r) => [r.name, r.serial, formatBytes(r.trackSize), r.volumes, r.durability, r.running ? `running (pid ${r.pid})` : 'stopped']),
    },
    text: rows.length ? undefined : `no arrays in ${ctx.home} (create one with: rcopy array create NAME)`,
  };
}

export async function show(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = await pickArray(ctx, nameArg as string | undefined);
  const dir = existingArrayDir(name, ctx.home);
  const info = { ...peekArray(dir), ...statusOf(dir), createdAt: null as string | null };
  info.createdAt = iso(info.created) || null;
  return { data: info };
}

export async function start(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = await pickArray(ctx, nameArg as string | undefined);
  const dir = existingArrayDir(name, ctx.home);
  const c = await startController(dir, ctx.home, name);
  const r = (await c.call('controller.ping')).result;
  c.close();
  return { data: { name, running: true, pid: r.pid, socket: controllerSocket(dir) }, text: `controller of ${name} running (pid ${r.pid})` };
}

async function stopOne(dir: string, name: string): Promise<{ name: string; stopped: boolean; pid: number | null }> {
  const pid = livePid(dir);
  const c = await tryConnect(dir, name);
  if (c) {
    try {
      await c.call('controller.stop', {}, { timeoutMs: 10_000 });
    } catch {
      /* it may close the connection as it goes */
    }
    c.close();
  }
  if (pid !== null) await awaitControllerExit(dir, pid);
  return { name, stopped: pid !== null || c !== null, pid };
}

export async function stop(ctx: CliContext, [nameArg]: Args, opts: CommandOpts): Promise<Output> {
  if (opts.all) {
    const names = listArrayNames(ctx.home).filter((n) => isArrayDir(path.join(arraysDir(ctx.home), n)));
    const res = await Promise.all(names.map((n) => stopOne(path.join(arraysDir(ctx.home), n), n)));
    const stopped = res.filter((r) => r.stopped);
    return { data: res, text: stopped.length ? `stopped ${stopped.map((r) => r.name).join(', ')}` : 'no controller was running' };
  }
  const name = await pickArray(ctx, nameArg as string | undefined);
  const r = await stopOne(existingArrayDir(name, ctx.home), name);
  return { data: r, text: r.stopped ? `stopped the controller of ${name}` : `the controller of ${name} was not running` };
}

export async function status(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = await pickArray(ctx, nameArg as string | undefined);
  const dir = existingArrayDir(name, ctx.home);
  const st = statusOf(dir);
  let running = false;
  let uptime: number | undefined;
  let tcp: ResultOf<'transport.status'> | undefined;
  const c = await tryConnect(dir, name);
  if (c) {
    try {
      const r = (await c.call('controller.ping', {}, { timeoutMs: 5000 })).result;
      running = true;
      st.pid = r.pid;
      uptime = r.uptime;
    } catch {
      running = false;
    }
    if (running) tcp = (await c.call('transport.status', {}, { timeoutMs: 5000 }).catch(() => null))?.result;
    c.close();
  }
  const data = { name, running, pid: running ? st.pid : null, socket: st.socket, uptimeSeconds: uptime, tcp };
  const b = tcp?.badInput;
  const tcpText = tcp ? `; tcp ${tcp.listening ? `${tcp.listening} (${tcp.security})` : 'off'}; bad input: ${b!.auth} refused handshakes, ${b!.frames} bad frames, ${b!.requests} bad requests` : '';
  return { data, text: running ? `${name}: running, pid ${st.pid}, socket ${st.socket}${tcpText}` : `${name}: stopped` };
}

export async function remove(ctx: CliContext, [nameArg]: Args, opts: CommandOpts): Promise<Output> {
  const name = await need(ctx, nameArg as string | undefined, { name: 'the array name', message: 'Delete which array?', choices: () => arrayChoices(ctx) });
  checkName('array', name);
  const dir = arrayDir(name, ctx.home);
  if (!fs.existsSync(dir)) throw E.noArray(name);
  if (!isArrayDir(dir)) throw E.notAnArray(dir);
  const info = peekArray(dir);
  // refused while a pair (either side) or an export uses it, before asking anything
  const { askAndRelease } = await import('./safe-delete.js');
  const released = await askAndRelease(ctx, { array: name }, !!opts.force, `Delete array ${name} and its ${info.volumes} volume(s)? Their data is lost.`, 'array delete');
  await stopOne(dir, name);
  deleteArrayFiles(name, ctx.home);
  return { data: { deleted: name, released }, text: [...released, `deleted array ${name}`].join('\n') };
}
