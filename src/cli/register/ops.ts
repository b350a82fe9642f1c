/** Operating replication: health checks (monitoring plugins), metrics, events. */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const check = () => import('../commands/check.js');

export function registerOps(program: Command): void {
  example(
    dataOpts(
      program
        .command('check')
        .argument('[array]', 'an array (and the peers of its pairs); default: every array')
        .description('health of replication as a Nagios/Icinga plugin: one line per finding, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'),
    )
      .option('--group <name>', 'only the pairs of this journal group')
      .option('--rpo-warn <d>', 'RPO at which to warn', '1m')
      .option('--rpo-crit <d>', 'RPO that is critical', '5m')
      .option('--journal-warn <pct>', 'master journal usage at which to warn', '80%')
      .option('--journal-crit <pct>', 'master journal usage that is critical', '95%')
      .action(act(check, 'check')),
    'rcopy check',
    'rcopy check siteA --rpo-warn 30s --rpo-crit 2m --journal-warn 70%',
  );
}
