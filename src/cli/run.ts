/**
 * Runs one command line: builds the commander program, calls the command's function, renders
 * its Output in the chosen format and sets the exit status. Errors print as one line
 * (`rcopy: error ERR_RCOPY_X: message (hint: ...)`), or as {"error":{...}} under --json.
 */
import { type Command, CommanderError } from 'commander';
import { toRcopyError } from '../errors.js';
import { buildProgram } from './program.js';
import { installSignalHandlers, wasInterrupted } from './interrupt.js';

let jsonErrors = false;

export function wantJsonErrors(v: boolean): void {
  jsonErrors = v;
}

export async function runCli(argv: string[]): Promise<void> {
  jsonErrors = argv.includes('--json') || argv.some((a, i) => (a === '--format' && argv[i + 1] === 'json') || a === '--format=json');
  installSignalHandlers();
  const program: Command = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      if (jsonErrors) {
        process.stdout.write(JSON.stringify({ error: { code: 'ERR_RCOPY_USAGE', message: e.message.replace(/^error: /, ''), kind: 'usage' } }) + '\n');
      }
      process.exitCode = 2;
      return;
    }
    reportError(e);
  }
}

export function reportError(e: unknown): void {
  // Ctrl-C at a prompt: one line, status 130
  if (e instanceof Error && e.name === 'ExitPromptError') {
    process.stderr.write('rcopy: cancelled at the prompt; nothing was changed\n');
    process.exitCode = 130;
    return;
  }
  const err = toRcopyError(e);
  if (jsonErrors) {
    process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint, kind: err.kind } }) + '\n');
  } else {
    const hint = err.hint ? ` (hint: ${err.hint})` : '';
    process.stderr.write(`rcopy: error ${err.code}: ${err.message}${hint}\n`);
  }
  process.exitCode = wasInterrupted() ? 130 : err.exitCode;
}
