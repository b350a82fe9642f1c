/**
 * Entry point of the CLI's startup snapshot (scripts/snapshot.mjs bundles this file and builds
 * dist/rcopy.blob from it; bin/rcopy starts `node --snapshot-blob dist/rcopy.blob -- ARGS` when the
 * blob was built by the same node). The command-line module and commander are loaded when the
 * snapshot is built; the commands' own modules load as they would from the files, without the
 * module files being looked up and read.
 *
 * Only what is the same in every process may be done at build time: nothing here reads the
 * environment, the terminal or the arguments before the main function runs.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import { runCli } from './run.js';
import { start, startedFrom } from './start.js';

declare global {
  var __rcopyRequire: NodeRequire | undefined;
  var __rcopyRoot: string | undefined;
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  const i = process.execArgv.findIndex((a) => a === '--snapshot-blob' || a.startsWith('--snapshot-blob='));
  const arg = process.execArgv[i] ?? '';
  const blob = path.resolve(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (process.execArgv[i + 1] ?? 'dist/rcopy.blob'));
  startedFrom.blob = blob;
  const root = path.dirname(path.dirname(blob));
  globalThis.__rcopyRoot = root; // where import.meta.url of the bundled modules points (scripts/snapshot.mjs)
  // packages with native parts are loaded from node_modules when first used (scripts/snapshot.mjs)
  globalThis.__rcopyRequire = createRequire(path.join(root, 'dist', 'src', 'cli', 'main.js'));
  // argv: [node, ...the command line] (bin/rcopy puts `--` before it)
  start(process.argv.slice(1), async () => runCli).catch((e: unknown) => {
    process.stderr.write(`rcopy: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
});
