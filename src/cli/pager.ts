/**
 * Long output through a pager, as git does: only when stdout is a terminal and the text is taller
 * than it; never into a pipe or a file, never with --no-pager. The pager is $RCOPY_PAGER, else
 * $PAGER, else `less`; LESS defaults to FRX (quit if one screen, keep colours, leave the text on
 * the screen). A pager that cannot start prints the text directly.
 */
import { spawn } from 'node:child_process';

/** Whether `text` should go through the pager on this stdout. */
export function wantsPager(text: string, noPager: boolean): boolean {
  if (noPager || !process.stdout.isTTY || !process.stdin.isTTY) return false;
  const cmd = pagerCommand();
  if (cmd === '' || cmd === 'cat') return false;
  return text.split('\n').length > (process.stdout.rows || 24) - 1;
}

export function pagerCommand(): string {
  return (process.env.RCOPY_PAGER ?? process.env.PAGER ?? 'less').trim();
}

/** Shows `text` through the pager; resolves when the pager has ended (or prints it if none starts). */
export function page(text: string): Promise<void> {
  return new Promise((resolve) => {
    const env = { ...process.env, LESS: process.env.LESS ?? 'FRX', LV: process.env.LV ?? '-c' };
    const child = spawn(pagerCommand(), { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
    let failed = false;
    child.on('error', () => {
      failed = true;
      process.stdout.write(text);
      resolve();
    });
    child.stdin.on('error', () => undefined); // the user quit the pager before reading it all
    child.on('close', () => {
      if (!failed) resolve();
    });
    child.stdin.end(text);
  });
}
