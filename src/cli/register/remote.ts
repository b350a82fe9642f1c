/** rcopy remote add|list|show|remove, and rcopy array serve|token: arrays of other hosts over TCP. */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const mod = () => import('../commands/remote.js');

export function registerRemote(program: Command): void {
  const remote = program.command('remote').description('arrays of other hosts, reached over TCP');
  example(
    dataOpts(remote.command('add').argument('<name>', 'the name of the array on its host').argument('<address>', 'HOST:PORT').description('know a remote array (checked: reached, token accepted)'))
      .option('--token-file <file>', "the array's token (rcopy array token NAME on its host)")
      .option('--tls-ca <file>', 'TLS 1.3: the CA that signed its certificate (pins the peer)')
      .option('--tls-psk <file>', 'TLS 1.3 with a pre-shared key: identity:hexkey')
      .option('--no-check', 'do not connect now')
      .option('--replace', 'replace a remote of that name')
      .action(act(mod, 'add')),
    'rcopy remote add siteB 192.0.2.20:7400 --token-file siteB.token --tls-ca ca.pem',
  );
  example(dataOpts(remote.command('list').description('the remotes of this home')).action(act(mod, 'list')), 'rcopy remote list');
  example(dataOpts(remote.command('show').argument('<name>').description('a remote, and whether it answers')).action(act(mod, 'show')), 'rcopy remote show siteB');
  example(dataOpts(remote.command('remove').argument('<name>').description('forget a remote')).action(act(mod, 'remove')), 'rcopy remote remove siteB');

  const array = program.commands.find((c) => c.name() === 'array');
  if (!array) return;
  example(
    dataOpts(array.command('serve').argument('<name>').description('listen on TCP as well (kept: listens again after a restart)'))
      .option('--listen <addr>', 'HOST:PORT (port 0: any free port)')
      .option('--tls-cert <file>', 'TLS 1.3 certificate (PEM)')
      .option('--tls-key <file>', 'its private key (PEM)')
      .option('--tls-psk <file>', 'TLS 1.3 with pre-shared keys (identity:hexkey lines)')
      .option('--insecure', 'plaintext (loopback addresses only)')
      .option('--stop', 'stop listening on TCP')
      .action(act(mod, 'serve')),
    'rcopy array serve siteA --listen 192.0.2.10:7400 --tls-cert site.pem --tls-key site.key',
    'rcopy array serve siteA --stop',
  );
  example(
    dataOpts(array.command('token').argument('<name>').description('print the token TCP clients need (kept in the array directory, 0600)'))
      .option('--rotate', 'make a new token (clients must be given it again)')
      .action(act(mod, 'token')),
    'rcopy array token siteA > siteA.token',
  );
}
