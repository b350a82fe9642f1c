/**
 * The command line: every command is declared here or in a module under ./register/ (one per
 * command group). Declarations are light; each action loads its command module lazily.
 */
import { Command } from 'commander';
import { setProgramFactory } from './program-factory.js';
import { packageVersion } from './start.js';
import { registerCore } from './register/core.js';
import { REGISTERS } from './register/index.js';

export function buildProgram(): Command {
  const program = new Command('rcopy')
    .description('Simulated disk arrays on image files: remote copy through journals, suspension and resync, backups, link sizing')
    .version(packageVersion())
    .option('--no-color', 'no colours (also NO_COLOR=1)')
    .option('--no-pager', 'never page long output on a terminal (also RCOPY_PAGER=cat)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', "\nRun `rcopy help COMMAND` for a command's options and an example. Arrays live under $RCOPY_HOME (default ~/.rcopy).");
  program.helpCommand(false);
  // set before the subcommands are made, so that they inherit it: usage errors exit 2, not 1
  program.exitOverride();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s.startsWith('error:') ? `rcopy: ${s}` : s),
  });
  registerCore(program);
  for (const reg of REGISTERS) reg(program);
  return program;
}

setProgramFactory(buildProgram);
