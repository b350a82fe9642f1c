/**
 * A fresh program tree for the commands that parse command lines themselves (runbooks, the tour,
 * shell completion). program.ts registers its builder here when it loads, so those commands,
 * which program.ts declares, do not import it back (no import cycle).
 */
import type { Command } from 'commander';
import { InternalError } from '../errors.js';

let build: (() => Command) | null = null;

export function setProgramFactory(f: () => Command): void {
  build = f;
}

/** A new program tree (commander keeps state per parse, so each parse needs its own). */
export function newProgram(): Command {
  if (!build) throw new InternalError('the program is not loaded (import src/cli/program.js first)');
  return build();
}
