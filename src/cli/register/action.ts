/**
 * What the command declarations under ./ share: the action that loads a command module lazily and
 * renders its Output, the data options, and examples in the help. Nothing here imports the
 * program (program.ts imports the declarations), so there is no cycle.
 */
import { type Command, Option } from 'commander';
import type { CliContext, CommonOpts, CommandOpts } from '../context.js';
import type { Output } from '../render/output.js';

export type CommandFn = (ctx: CliContext, args: Array<string | string[] | undefined>, opts: CommandOpts) => Promise<Output>;

/** Adds --json and --format to a command that prints data. */
export function dataOpts(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'yaml', 'csv']))
    .option('--wide', 'tables with every column, whatever the width of the terminal');
}

/** Wraps a lazily loaded command function as a commander action. */
export function act(load: () => Promise<Record<string, unknown>>, fn: string) {
  return async (...all: unknown[]): Promise<void> => {
    const command = all[all.length - 1] as Command;
    const args = all.slice(0, -2) as Array<string | string[] | undefined>;
    const opts = command.optsWithGlobals() as CommandOpts & CommonOpts;
    const { makeContext } = await import('../context.js');
    const ctx = makeContext(opts);
    const mod = await load();
    const f = mod[fn] as CommandFn | undefined;
    if (typeof f !== 'function') throw new Error(`command function '${fn}' is missing`);
    const out = await f(ctx, args, opts);
    const { render } = await import('../render/output.js');
    // a table fits the terminal it is shown on; a pipe or a file gets every column
    const width = opts.wide || !process.stdout.isTTY ? Infinity : process.stdout.columns || 80;
    const text = await render(out, ctx.format, ctx.color, width);
    const whole = text.endsWith('\n') ? text : `${text}\n`;
    const { wantsPager, page } = await import('../pager.js');
    if (text !== '' && wantsPager(whole, opts.pager === false)) await page(whole);
    else if (text !== '') process.stdout.write(whole);
    if (out.exitCode !== undefined) process.exitCode = out.exitCode;
    const { wasInterrupted } = await import('../interrupt.js');
    if (wasInterrupted()) process.exitCode = 130;
  };
}

export function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
