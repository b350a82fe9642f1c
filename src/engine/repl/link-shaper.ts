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
    if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
  }
}
