/**
 * Enforces a simulated link's bandwidth and latency on what crosses it: each transfer waits for
 * its turn on the wire (a virtual clock advanced by bytes / bandwidth) plus one latency.
 */
export class LinkShaper {
  private wireFreeAt = 0;

  constructor(
    public bandwidth: number | null, // bytes per second, null = unlimited
    public latencyMs: number,
  ) {}

  /** Waits as long as moving `bytes` over this link takes from now (shared by concurrent users). */
  async transfer(bytes: number, startedAt = performance.now()): Promise<void> {
    let until = startedAt + this.latencyMs;
    if (this.bandwidth && bytes > 0) {
      const start = Math.max(this.wireFreeAt, startedAt);
      this.wireFreeAt = start + (bytes / this.bandwidth) * 1000;
      until = Math.max(until, this.wireFreeAt);
    }
    const wait = until - performance.now();
    if (wait > 0.5) {
      await new Promise<void>((resolve, reject) => {
        const w = {
          timer: setTimeout(() => {
            this.waiting.delete(w);
            resolve();
          }, wait),
          reject,
        };
        this.waiting.add(w);
      });
    }
  }

  private waiting = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();

  /** The link went down: what is on the wire fails now, as on a real link (a copy or pull in
   *  flight learns it at once instead of after its simulated transfer time). */
  cut(err: Error): void {
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
    this.wireFreeAt = 0;
  }
}
