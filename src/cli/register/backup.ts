/** rcopy backup create|list|show|verify|restore|delete */
import type { Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const backupMod = () => import('../commands/backup.js');
const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('backups of volumes, with management information kept in the array');
  example(
    dataOpts(backup.command('create').argument('[source]', 'ARRAY:VOLUME to back up').description('copy a volume into a backup volume, as of now, and record what the backup is'))
      .option('--to <ref>', 'the backup volume, ARRAY:VOLUME (same array, at least the size of the source)')
      .option('--label <text>', 'a label for this backup')
      .option('--info <key=value>', "the host's details, e.g. app=db consistency=quiesced (repeatable)", collect, [])
      .option('--incremental', 'copy only the tracks changed since the previous backup into the same volume')
      .option('--keep <n>', 'keep only the newest N generations of this source in this backup volume')
      .option('--rate <rate>', 'limit the copy rate, e.g. 200MB/s, so host I/O keeps its bandwidth')
      .action(act(backupMod, 'create')),
    'rcopy backup create siteB:db-copy --to siteB:db-bk --label nightly --info app=db --info consistency=crash',
    'rcopy backup create siteB:db-copy --to siteB:db-bk --incremental --keep 7',
  );
  example(
    dataOpts(backup.command('list').argument('[array]').description("list an array's backups"))
      .option('--source <volume>', "only the backups of this source volume, or of a drill's view (VOLUME@DRILL)")
      .action(act(backupMod, 'list')),
    'rcopy backup list siteB --source db-copy',
  );
  example(
    dataOpts(backup.command('show').argument('[id]', 'ARRAY:bk-NNNNNN (or a bare id)').description('everything recorded about a backup')).action(act(backupMod, 'show')),
    'rcopy backup show siteB:bk-000003',
  );
  example(
    dataOpts(backup.command('verify').argument('[id]', 'ARRAY:bk-NNNNNN').description('recompute the checksum of a backup image (exit 3 on a mismatch)')).action(act(backupMod, 'verify')),
    'rcopy backup verify siteB:bk-000003',
  );
  example(
    dataOpts(backup.command('restore').argument('[id]', 'ARRAY:bk-NNNNNN').description('write a backup image back into its source, or into another volume'))
      .option('--to <ref>', 'restore into this volume (ARRAY:VOLUME, same array) instead of the source')
      .option('-y, --yes', 'do not ask for confirmation')
      .action(act(backupMod, 'restore')),
    'rcopy backup restore siteB:bk-000003 --yes',
    'rcopy backup restore siteB:bk-000003 --to siteB:scratch --yes',
  );
  example(
    dataOpts(backup.command('delete').argument('[id]', 'ARRAY:bk-NNNNNN').description('delete a backup (older generations stay restorable)'))
      .option('-y, --yes', 'do not ask for confirmation')
      .action(act(backupMod, 'remove')),
    'rcopy backup delete siteB:bk-000001 --yes',
  );
}
