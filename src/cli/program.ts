/**
 * The command line: every command is declared here or in a module under ./register/ (one per
 * command group). Declarations are light; each action loads its command module lazily.
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import type { CliContext, CommonOpts } from './context.js';
import type { Output } from './output.js';
import { registerCore } from './register/core.js';
import { REGISTERS } from './register/index.js';

export type CommandFn = (ctx: CliContext, args: Array<string | string[] | undefined>, opts: Record<string, any>) => Promise<Output>;

/** Adds --json and --format to a command that prints data. */
export function dataOpts(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'yaml', 'csv']));
}

/** Wraps a lazily loaded command function as a commander action. */
export function act(load: () => Promise<Record<string, unknown>>, fn: string) {
  return async (...all: unknown[]): Promise<void> => {
    const command = all[all.length - 1] as Command;
    const args = all.slice(0, -2) as Array<string | string[] | undefined>;
    const opts = command.optsWithGlobals() as Record<string, any> & CommonOpts;
    const { makeContext } = await import('./context.js');
    const ctx = makeContext(opts);
    const mod = await load();
    const f = mod[fn] as CommandFn | undefined;
    if (typeof f !== 'function') throw new Error(`command function '${fn}' is missing`);
    const out = await f(ctx, args, opts);
    const { render } = await import('./output.js');
    const text = await render(out, ctx.format, ctx.color);
    if (text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    if (out.exitCode !== undefined) process.exitCode = out.exitCode;
  };
}

export function buildProgram(): Command {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('rcopy')
    .description('Simulated disk arrays on image files: remote copy through journals, suspension and resync, backups, link sizing')
    .version(pkg.version)
    .option('--no-color', 'no colours (also NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nRun `rcopy help COMMAND` for a command\'s options and an example. Arrays live under $RCOPY_HOME (default ~/.rcopy).');
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
