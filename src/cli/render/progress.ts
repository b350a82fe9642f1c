/** Progress with rate and ETA on stderr (only on a terminal), and the colours of text output. */
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import type { CliContext } from '../context.js';

export interface Progress {
  update(done: number, total?: number, note?: string): void;
  stop(final?: string): void;
}

/**
 * A progress line on stderr (silent when stderr is not a terminal): a bar, done / total in the same
 * unit (bytes; tracks are turned into bytes with `trackSize`), the rate and the ETA over a moving
 * window (render/progress-rate.ts), and the phase (the `note` of update, e.g. "saving the
 * consistent image", "copying", "writing the catalogue").
 */
export async function progress(ctx: CliContext, label: string, unit: 'bytes' | 'tracks' | 'items' = 'bytes', trackSize?: number): Promise<Progress> {
  if (!ctx.progress) return { update: () => undefined, stop: () => undefined };
  const ora = (await import('ora')).default;
  const { RateWindow, bar } = await import('./progress-rate.js');
  const spinner = ora({ text: label, stream: process.stderr, color: 'cyan', isEnabled: true }).start();
  const win = new RateWindow();
  const asBytes = unit === 'bytes' || (unit === 'tracks' && trackSize !== undefined);
  const scale = unit === 'tracks' && trackSize !== undefined ? trackSize : 1;
  const fmt = (n: number): string => (asBytes ? formatBytes(n * scale) : `${n} ${unit}`);
  return {
    update(done, total, note) {
      win.add(Date.now(), done);
      const rate = win.rate();
      let s = `${label}${note ? ` (${note})` : ''}: `;
      if (total) s += `${bar(done, total)} ${fmt(done)} / ${fmt(total)} (${Math.min(100, (done / total) * 100).toFixed(1)}%)`;
      else s += fmt(done);
      s += asBytes ? `  ${formatRate(rate * scale)}` : `  ${rate.toFixed(0)} ${unit}/s`;
      if (total) s += `  ETA ${formatDuration(win.eta(total))}`;
      spinner.text = s;
    },
    stop(final) {
      if (final) spinner.succeed(final);
      else spinner.stop();
    },
  };
}

export async function colors(
  ctx: CliContext,
): Promise<{ ok: (s: string) => string; warn: (s: string) => string; bad: (s: string) => string; dim: (s: string) => string; bold: (s: string) => string }> {
  if (!ctx.color) {
    const id = (s: string): string => s;
    return { ok: id, warn: id, bad: id, dim: id, bold: id };
  }
  const chalk = (await import('chalk')).default;
  return { ok: chalk.green, warn: chalk.yellow, bad: chalk.red, dim: chalk.dim, bold: chalk.bold };
}
