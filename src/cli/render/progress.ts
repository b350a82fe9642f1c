/** Progress with rate and ETA on stderr (only on a terminal), and the colours of text output. */
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import type { CliContext } from '../context.js';

export interface Progress {
  update(done: number, total?: number, note?: string): void;
  stop(final?: string): void;
}

/** A progress line with rate and ETA on stderr; silent when stderr is not a terminal. */
export async function progress(ctx: CliContext, label: string, unit: 'bytes' | 'tracks' | 'items' = 'bytes'): Promise<Progress> {
  if (!ctx.progress) return { update: () => undefined, stop: () => undefined };
  const ora = (await import('ora')).default;
  const spinner = ora({ text: label, stream: process.stderr, color: 'cyan', isEnabled: true }).start();
  const t0 = Date.now();
  const fmt = (n: number): string => (unit === 'bytes' ? formatBytes(n) : `${n} ${unit}`);
  return {
    update(done, total, note) {
      const el = (Date.now() - t0) / 1000;
      const rate = el > 0 ? done / el : 0;
      let s = `${label}: ${fmt(done)}`;
      if (total) {
        const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
        const eta = rate > 0 ? ((total - done) / rate) * 1000 : Infinity;
        s += ` / ${fmt(total)} (${pct.toFixed(1)}%)  ETA ${formatDuration(eta)}`;
      }
      if (unit === 'bytes') s += `  ${formatRate(rate)}`;
      else s += `  ${rate.toFixed(0)} ${unit}/s`;
      if (note) s += `  ${note}`;
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
