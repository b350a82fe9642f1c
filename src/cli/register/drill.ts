/** DR drills: rcopy drill start|stop|list|show|report. */
import type { Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const drillMod = () => import('../commands/drill.js');

export function registerDrill(program: Command): void {
  const drill = program.command('drill').description('DR drills: a writable point-in-time view of a group of S-VOLs while replication goes on');
  example(
    dataOpts(
      drill
        .command('start')
        .argument('[ref]', 'an S-VOL (ARRAY:VOLUME), or the array with --group')
        .description('start a drill: views ARRAY:SVOL@NAME of every S-VOL of the group at one restored seq'),
    )
      .option('--group <name>', 'the journal group')
      .option('--name <name>', 'the drill name (default drill-N)')
      .option('--max-size <size>', "stop the drill when kept tracks plus the views' writes reach this (e.g. 10G)")
      .action(act(drillMod, 'start')),
    'rcopy drill start siteB:db --name dr1 --max-size 10G',
    'rcopy drill start --group payroll',
  );
  example(
    dataOpts(drill.command('stop').argument('<drill>', 'ARRAY:NAME (or NAME)').description('stop a drill: its views and their space go, the record stays'))
      .option('--result <r>', 'pass or fail')
      .option('--note <text>', 'a note for the record')
      .action(act(drillMod, 'stop')),
    'rcopy drill stop siteB:dr1 --result pass --note "app came up in 40s"',
  );
  example(
    dataOpts(drill.command('list').argument('[array]', 'one array (default: every running controller)').description('list drills, running and past')).action(act(drillMod, 'list')),
    'rcopy drill list --format csv',
  );
  example(dataOpts(drill.command('show').argument('<drill>', 'ARRAY:NAME (or NAME)').description('show one drill')).action(act(drillMod, 'show')), 'rcopy drill show siteB:dr1 --json');
  example(
    dataOpts(drill.command('report').argument('[array]', 'one array (default: every running controller)').description('the history of drills: a summary and every drill'))
      .option('--since <d>', 'only drills started in the last d (e.g. 30d)')
      .option('--html <file>', 'also write a self-contained HTML page')
      .action(act(drillMod, 'report')),
    'rcopy drill report --since 30d --html drills.html',
  );
}
