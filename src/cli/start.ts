/**
 * What every start of the CLI does before a command runs, whichever way it was started: from the
 * module files (main.ts) or from the startup snapshot (snapshot.ts, see bin/rcopy).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type RunCli = (argv: string[]) => Promise<void>;

/** The root of the installed package (where bin/, dist/ and package.json are). */
export function packageRoot(): string {
  // computed when asked: in the snapshot, import.meta.url is this file's URL only once it runs
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
}

/** rcopy's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The command that runs this CLI again with `args` (runbooks run their steps so): the same node,
 *  from the same startup snapshot when this process started from one. */
export function selfCommand(args: string[]): [string, string[]] {
  if (startedFrom.blob) return [process.execPath, ['--snapshot-blob', startedFrom.blob, '--', ...args]];
  return [process.execPath, [path.join(packageRoot(), 'bin', 'rcopy'), ...args]];
}

/** How this process started: from the startup snapshot `blob`, or (null) from the module files. */
export const startedFrom: { blob: string | null } = { blob: null };

/** Runs one command line; `loadRun` gives the command-line module (loaded late where that is cheaper). */
export async function start(argv: string[], loadRun: () => Promise<RunCli>): Promise<void> {
  // a closed stdout (`rcopy … | head`) ends the command quietly with status 0, as `head` expects;
  // the controller sees the connection close (work it runs for this command is cancelled then)
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  if (process.env.RCOPY_STARTUP_TRACE === '1') process.stderr.write(`rcopy: started from ${startedFrom.blob ? `the startup snapshot ${startedFrom.blob}` : 'the module files'}\n`);
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (argv.includes('--no-color') || (process.env.NO_COLOR ?? '') !== '') {
    process.env.NO_COLOR = '1';
    process.env.FORCE_COLOR = '0';
  }
  const runCli = await loadRun();
  await runCli(argv);
}
