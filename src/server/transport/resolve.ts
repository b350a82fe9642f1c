/**
 * Where an array named on the command line (or in a pair row) lives: an array directory of this
 * RCOPY_HOME, or a remote of this home (remotes.ts). A local array wins over a remote of the same
 * name (`remote add` refuses that name anyway).
 */
import { existingArrayDir } from '../../engine/array/home.js';
import { E, RcopyError } from '../../errors.js';
import type { RpcClient } from '../protocol.js';
import { getRemote, type RemoteEntry } from './remotes.js';

export type Whereabouts = { dir: string; remote?: undefined } | { remote: RemoteEntry; dir?: undefined };

export function whereIs(name: string, home: string): Whereabouts {
  try {
    return { dir: existingArrayDir(name, home) };
  } catch (e) {
    if (!(e instanceof RcopyError) || e.code !== 'ERR_RCOPY_NO_ARRAY') throw e;
    const remote = getRemote(home, name);
    if (!remote) throw e;
    return { remote };
  }
}

/** Whether a peer array is a remote of this home (TCP), asked at most every 5 s per name. An array
 *  not known here counts as remote (references stay on where nothing says the link is local). */
export function remoteTeller(home: string): (name: string) => boolean {
  const seen = new Map<string, { remote: boolean; at: number }>();
  return (name) => {
    const c = seen.get(name);
    if (c && Date.now() - c.at < 5000) return c.remote;
    let remote = true;
    try {
      remote = whereIs(name, home).remote !== undefined;
    } catch {
      /* not known here */
    }
    seen.set(name, { remote, at: Date.now() });
    return remote;
  };
}

/** Throws ERR_RCOPY_NO_ARRAY unless the name is a local array or a remote of this home. */
export function knownArray(name: string, home: string): void {
  whereIs(name, home);
}

/** Connects to a remote array and checks it is the array of that name. */
export async function connectRemoteArray(r: RemoteEntry, timeoutMs = 5000): Promise<RpcClient> {
  // loaded here: TLS costs a command on a local array about 15 ms of its start
  const { connectRemote } = await import('./tcp-client.js');
  const { client, name } = await connectRemote(r, timeoutMs);
  if (name !== r.name) {
    client.close();
    throw E.config(`the array at ${r.address} is '${name}', not '${r.name}'`, `a remote is named as its array: rcopy remote remove ${r.name}; rcopy remote add ${name} ${r.address} ...`);
  }
  return client;
}
