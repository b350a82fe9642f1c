/**
 * The rate and ETA of a progress display over a moving window (the last WINDOW_MS of samples), so
 * a command that joins work half done (pair wait) or work whose speed changes shows the speed of
 * now, not an average since the start. Pure: samples in, numbers and a bar out.
 */
export const WINDOW_MS = 5000;

export class RateWindow {
  private readonly samples: Array<{ t: number; done: number }> = [];
  constructor(private readonly windowMs = WINDOW_MS) {}

  /** Records `done` at time t (ms) and forgets samples older than the window (keeping one before it). */
  add(t: number, done: number): void {
    this.samples.push({ t, done });
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.windowMs) this.samples.shift();
  }

  /** Units per second over the window; 0 until two samples span some time. */
  rate(): number {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t <= a.t) return 0;
    return Math.max(0, (b.done - a.done) / ((b.t - a.t) / 1000));
  }

  /** Milliseconds left at the window's rate, Infinity while it is 0. */
  eta(total: number): number {
    const b = this.samples[this.samples.length - 1];
    const r = this.rate();
    if (!b) return Infinity;
    if (b.done >= total) return 0;
    return r > 0 ? ((total - b.done) / r) * 1000 : Infinity;
  }
}

/** A bar of `width` cells for done/total. */
export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'-'.repeat(width - n)}]`;
}
