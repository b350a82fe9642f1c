/**
 * Entry point of the CLI from its module files (`node bin/rcopy`, or bin/rcopy when there is no
 * usable startup snapshot). `--version` is answered before anything else is loaded; the commander
 * program and each command's module are loaded only when needed.
 */
import { start } from './start.js';

await start(process.argv.slice(2), async () => (await import('./run.js')).runCli);
