/**
 * Group commit: one fsync (or any sync step) shared by every caller that asks while one runs.
 * A caller that arrives during a sync waits for the next one, which starts when the running one
 * ends, so what it wrote before asking is covered; all such callers share that next sync.
 */
export class GroupSync {
  private running: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  constructor(private readonly doSync: () => Promise<void>) {}

  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.doSync().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.pending) {
      const after = this.running;
      this.pending = after
        .catch(() => undefined)
        .then(() => {
          this.pending = null;
          return this.sync();
        });
    }
    return this.pending;
  }
}
