/** rcopy completion bash|zsh|fish, and the hidden rcopy __complete the scripts ask */
import { type Command } from 'commander';
import { act, example } from './action.js';

const completionMod = () => import('../commands/completion.js');

export function registerCompletion(program: Command): void {
  // what the completion scripts ask at completion time (names read without starting a controller)
  example(
    program
      .command('__complete', { hidden: true })
      .argument('<kind>', 'arrays, volumes, journals, groups, stats-groups, backups or states')
      .argument('[current]', 'the word being completed')
      .action(act(() => import('../commands/complete.js'), 'complete')),
    'rcopy __complete volumes siteA:',
  );
  example(
    program
      .command('completion')
      .argument('[shell]', 'bash, zsh or fish')
      .description('print a shell completion script for rcopy (commands, options; array, volume, journal, group, backup names and states asked of rcopy as you type)')
      .action(act(completionMod, 'completion')),
    'source <(rcopy completion bash)',
    'rcopy completion zsh > "${fpath[1]}/_rcopy"',
    'rcopy completion fish | source',
  );
}
