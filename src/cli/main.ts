/**
 * Entry point of the CLI. `--version` is answered before anything else is loaded; the commander
 * program and each command's module are loaded only when needed.
 */
import fs from 'node:fs';

// a closed stdout (`rcopy … | head`) ends the command quietly with status 0, as `head` expects;
// the controller sees the connection close (work it runs for this command is cancelled then)
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  if (argv.includes('--no-color') || (process.env.NO_COLOR ?? '') !== '') {
    process.env.NO_COLOR = '1';
    process.env.FORCE_COLOR = '0';
  }
  const { runCli } = await import('./run.js');
  await runCli(argv);
}
