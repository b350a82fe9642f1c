/** Work running in controllers: rcopy jobs, rcopy jobs stop, rcopy workload stop. */
import type { Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const jobsMod = () => import('../commands/jobs.js');

export function registerJobs(program: Command): void {
  const jobs = example(
    dataOpts(program.command('jobs').argument('[array]', 'one array (default: every running controller)').description('list work running in controllers (workloads, backups)')).action(
      act(jobsMod, 'list'),
    ),
    'rcopy jobs',
    'rcopy jobs stop siteA:3',
  );
  example(dataOpts(jobs.command('stop').argument('<job>', 'ARRAY:ID as rcopy jobs lists it').description('stop a job')).action(act(jobsMod, 'stop')), 'rcopy jobs stop siteA:3');
  const workload = program.commands.find((c) => c.name() === 'workload');
  if (workload) {
    example(
      dataOpts(workload.command('stop').argument('[array]', 'one array (default: every running controller)').description('stop the workloads running in controllers')).action(
        act(jobsMod, 'stopWorkloads'),
      ),
      'rcopy workload stop siteA',
    );
  }
}
