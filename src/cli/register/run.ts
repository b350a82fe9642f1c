/** rcopy run: runbooks of rcopy steps (YAML). */
import { type Command } from 'commander';
import { act, dataOpts, example } from './action.js';

const runMod = () => import('../commands/run.js');

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerRun(program: Command): void {
  example(
    dataOpts(
      program
        .command('run')
        .argument('[runbook]', 'a YAML runbook: steps of rcopy commands')
        .description('run a runbook: each step an rcopy command, with waits and expectations; stops at the first failing step'),
    )
      .option('--dry-run', 'check every step and print the plan; run nothing')
      .option('--var <key=value>', 'set a variable used as ${key} (repeatable)', collect, [])
      .option('--verbose', "show each step's output")
      .action(act(runMod, 'run')),
    'rcopy run samples/two-site-async-pair.yaml --var size=8M',
    'rcopy run samples/planned-outage.yaml --dry-run',
  );
}
