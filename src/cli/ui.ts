/**
 * Terminal prompts: for missing arguments and confirmations (only on a terminal, never with
 * --yes or without one). Progress lines and colours are in render/progress.ts.
 */
import { E, RcopyError } from '../errors.js';
import { formatBytes, parseSize } from '../units.js';
import type { CliContext } from './context.js';

export interface Choice {
  name: string;
  value: string;
  description?: string;
}

/** The value, or — on a terminal — ask for it; otherwise a usage error naming the argument. */
export async function need(
  ctx: CliContext,
  value: string | undefined,
  what: { name: string; message: string; choices?: () => Promise<Choice[]>; default?: string; validate?: (v: string) => true | string },
): Promise<string> {
  if (value !== undefined && value !== '') return value;
  if (!ctx.interactive) throw E.usage(`missing ${what.name}`, `give ${what.name} on the command line (see --help)`);
  if (what.choices) {
    const choices = await what.choices();
    if (choices.length === 0) throw E.usage(`missing ${what.name}, and there is nothing to choose from`);
    const { select } = await import('@inquirer/prompts');
    return select({ message: what.message, choices });
  }
  const { input } = await import('@inquirer/prompts');
  return input({ message: what.message, default: what.default, validate: what.validate });
}

/**
 * Asks before destroying something. --yes skips; without a terminal and without --yes the command
 * is refused (a script must say --yes).
 */
export async function confirm(ctx: CliContext, message: string, details?: string): Promise<void> {
  if (ctx.yes) return;
  if (!ctx.interactive) throw E.usage(`${message} — refusing without confirmation`, 'add --yes to confirm in a script');
  if (details) process.stderr.write(`${details}\n`);
  const { confirm: ask } = await import('@inquirer/prompts');
  const ok = await ask({ message, default: false });
  if (!ok) throw E.usage('cancelled', 'nothing was changed');
}

/**
 * A size from the command line, or — on a terminal — typed at a prompt that checks it as typed
 * (a size, a multiple of the track size) and asks again on error.
 */
export async function needSize(ctx: CliContext, value: string | undefined, what: { name: string; message: string; default?: string; multipleOf?: number }): Promise<number> {
  const check = (text: string): true | string => {
    try {
      const n = parseSize(text);
      const m = what.multipleOf;
      if (n <= 0) return 'a size above zero';
      if (m && n % m !== 0) return `not a multiple of the track size (${formatBytes(m)}): ${formatBytes(Math.ceil(n / m) * m)} would do`;
      return true;
    } catch (e) {
      return e instanceof RcopyError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : String(e);
    }
  };
  const text = await need(ctx, value, { name: what.name, message: what.message, default: what.default, validate: value === undefined ? check : undefined });
  return parseSize(text);
}
