/** What every command gets: where the home is, how to print, whether a person is at a terminal. */
import { homeDir } from '../engine/array/home.js';
import type { Format } from './render/output.js';
import { E } from '../errors.js';

export interface CliContext {
  home: string;
  format: Format;
  color: boolean;
  /** stdin and stdout are terminals: prompts are allowed (unless --yes). */
  interactive: boolean;
  yes: boolean;
  /** progress on stderr is allowed (stderr is a terminal, not JSON). */
  progress: boolean;
}

/**
 * A command's options as commander parses them. Untyped (any) because commander's are: each
 * command reads and checks the options it declares (register/*.ts) before using them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander types options as any (see above)
export type CommandOpts = Record<string, any>;

export interface CommonOpts {
  json?: boolean;
  format?: string;
  yes?: boolean;
  color?: boolean;
}

export function makeContext(opts: CommonOpts): CliContext {
  let format: Format = 'table';
  if (opts.format !== undefined) {
    if (!['table', 'json', 'yaml', 'csv'].includes(opts.format)) {
      throw E.usage(`unknown format '${opts.format}'`, 'use --format table, json, yaml or csv');
    }
    format = opts.format as Format;
  }
  if (opts.json) format = 'json';
  const color = process.env.NO_COLOR !== '1' && opts.color !== false && !!process.stdout.isTTY;
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY && process.env.CI !== 'true';
  return {
    home: homeDir(),
    format,
    color,
    interactive: interactive && !opts.yes,
    yes: !!opts.yes,
    progress: !!process.stderr.isTTY && format === 'table',
  };
}
