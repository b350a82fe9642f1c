/**
 * rcopy remote add|list|show|remove: arrays of other hosts, reached over TCP
 * (src/server/transport/remotes.ts keeps them); rcopy array serve|token: this host's side.
 */
import fs from 'node:fs';
import path from 'node:path';
import { E } from '../../errors.js';
import { checkName } from '../../units.js';
import { existingArrayDir } from '../../engine/array/home.js';
import { checkToken, readTcpPsk } from '../../server/transport/secrets.js';
import { checkRemote, getRemote, listRemotes, publicView, removeRemote, saveRemote, type RemoteEntry } from '../../server/transport/remotes.js';
import { connectRemoteArray } from '../../server/transport/resolve.js';
import type { Security } from '../../server/transport/config.js';
import type { CliContext, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';
import { call } from './common.js';

type Args = Array<string | string[] | undefined>;

function readFileArg(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw E.badPath(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function add(ctx: CliContext, [nameArg, addrArg]: Args, opts: CommandOpts): Promise<Output> {
  const name = checkName('array', String(nameArg ?? ''));
  if (!addrArg) throw E.usage('missing HOST:PORT', 'e.g. rcopy remote add siteB 192.0.2.20:7400 --token-file siteB.token --tls-ca ca.pem');
  if (!opts.tokenFile) throw E.usage('missing --token-file F', "print the token on the array's host: rcopy array token NAME > F");
  if (opts.tlsCa && opts.tlsPsk) throw E.usage('give --tls-ca or --tls-psk, not both');
  const security: Security = opts.tlsCa ? 'tls' : opts.tlsPsk ? 'psk' : 'insecure';
  const r: RemoteEntry = { name, address: String(addrArg), security, token: checkToken(readFileArg(opts.tokenFile, 'the token file'), opts.tokenFile), added: new Date().toISOString() };
  if (opts.tlsCa) r.ca = readFileArg(opts.tlsCa, 'the CA file');
  if (opts.tlsPsk) {
    const keys = readTcpPsk(opts.tlsPsk);
    const identity = keys.users[0]!;
    r.psk = { identity, key: keys.key(identity)!.toString('hex') };
  }
  checkRemote(r, ctx.home);
  if (getRemote(ctx.home, name) && !opts.replace) throw E.usage(`a remote named '${name}' exists already`, 'give --replace to change it');
  let checked = false;
  if (opts.check !== false) {
    const c = await connectRemoteArray(r);
    c.close();
    checked = true;
  }
  saveRemote(ctx.home, r);
  return { data: { ...publicView(r), checked }, text: `remote ${name} at ${r.address} (${security})${checked ? ': reached, token accepted' : ''}` };
}

export async function list(ctx: CliContext): Promise<Output> {
  const rows = listRemotes(ctx.home).map(publicView);
  return {
    data: rows,
    table: { head: ['remote', 'address', 'security', 'added'], rows: rows.map((r) => [r.name, r.address, r.security, r.added]) },
    text: rows.length ? undefined : 'no remotes (rcopy remote add NAME HOST:PORT --token-file F --tls-ca F)',
  };
}

export async function show(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = checkName('array', String(nameArg ?? ''));
  const r = getRemote(ctx.home, name);
  if (!r) throw E.notFound('remote', name, 'run rcopy remote list');
  let reachable = false;
  let error: string | undefined;
  try {
    (await connectRemoteArray(r)).close();
    reachable = true;
  } catch (e) {
    error = (e as Error).message;
  }
  const data = { ...publicView(r), reachable, ...(error ? { error } : {}) };
  return { data, text: `${r.name}: ${r.address} (${r.security}), ${reachable ? 'reachable' : `not reachable: ${error}`}` };
}

export async function remove(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = checkName('array', String(nameArg ?? ''));
  if (!removeRemote(ctx.home, name)) throw E.notFound('remote', name, 'run rcopy remote list');
  return { data: { removed: name }, text: `removed remote ${name}` };
}

/** rcopy array serve NAME --listen HOST:PORT [--tls-cert F --tls-key F | --tls-psk F | --insecure] | --stop */
export async function serve(ctx: CliContext, [nameArg]: Args, opts: CommandOpts): Promise<Output> {
  const name = checkName('array', String(nameArg ?? ''));
  existingArrayDir(name, ctx.home);
  if (opts.stop) {
    const r = await call(ctx, name, 'transport.unserve');
    return { data: r, text: r.stopped ? `${name} no longer listens on ${r.stopped}` : `${name} was not listening on TCP` };
  }
  if (!opts.listen) throw E.usage('missing --listen HOST:PORT (or --stop)');
  const abs = (f: unknown): string | undefined => (f ? path.resolve(String(f)) : undefined);
  const given = [opts.tlsCert || opts.tlsKey ? 'tls' : null, opts.tlsPsk ? 'psk' : null, opts.insecure ? 'insecure' : null].filter(Boolean);
  if (given.length !== 1) throw E.usage('give one of --tls-cert F --tls-key F, --tls-psk F, or --insecure (loopback only)');
  const security = given[0] as Security;
  const r = await call(ctx, name, 'transport.serve', { listen: String(opts.listen), security, cert: abs(opts.tlsCert), key: abs(opts.tlsKey), psk: abs(opts.tlsPsk) });
  return { data: r, text: `${name} listens on ${r.listening} (${r.security}); clients need its token: rcopy array token ${name}` };
}

/** rcopy array token NAME [--rotate]: the token on stdout (not in --json: that gives its file). */
export async function token(ctx: CliContext, [nameArg]: Args, opts: CommandOpts): Promise<Output> {
  const name = checkName('array', String(nameArg ?? ''));
  existingArrayDir(name, ctx.home);
  const r = await call(ctx, name, 'transport.token', { rotate: !!opts.rotate });
  return { data: { array: name, file: r.file, rotated: !!opts.rotate }, text: r.token };
}
