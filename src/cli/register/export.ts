/** rcopy export start|list|stop: NBD exports of volumes. */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const mod = () => import('../commands/export.js');

export function registerExport(program: Command): void {
  const exp = program.command('export').description('serve volumes to real hosts over NBD (from the array controller)');
  example(
    dataOpts(exp.command('start').argument('<ref>', 'ARRAY:VOLUME').description('export a volume over NBD (persistent: served again after a restart)'))
      .option('--socket <path>', 'a Unix socket (default: nbd-EXPORT.sock in the array directory)')
      .option('--listen <addr>', 'a TCP address on the loopback, 127.0.0.1:PORT')
      .option('--name <export>', 'the export name clients ask for (default: the volume name)')
      .option('--read-only', 'refuse writes (EPERM)')
      .option('--tls-psk <file>', 'require TLS (nbds://) with the pre-shared keys of FILE (username:hexkey lines, as psktool writes them)')
      .action(act(mod, 'exportStart')),
    'rcopy export start siteA:vol1',
    'qemu-img convert -n -O raw disk.img "nbd+unix:///vol1?socket=$(rcopy export list siteA --json | jq -r .[0].socket)"',
    'rcopy export start siteA:vol1 --tls-psk keys.psk',
  );
  example(
    dataOpts(exp.command('list').argument('[array]', 'only this array').description('exports: URI, clients connected, bytes read and written')).action(act(mod, 'exportList')),
    'rcopy export list --json',
  );
  example(
    dataOpts(exp.command('stop').argument('[ref]', 'ARRAY:VOLUME').description('stop an export; its clients are disconnected'))
      .option('--all', 'every export of every array')
      .action(act(mod, 'exportStop')),
    'rcopy export stop siteA:vol1',
  );
}
