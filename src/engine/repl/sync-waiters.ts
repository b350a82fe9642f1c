/**
 * P side: host writes of sync pairs waiting until the secondary has restored their seq. A pull or
 * an ack releases those restored; a suspension releases all (as not restored).
 */
export class SyncWaiters {
  /** P side: writes of sync pairs waiting until the secondary has restored their seq. */
  private waiting = new Map<string, Array<{ seq: number; resolve: (restored: boolean) => void }>>();

  /** Resolves true once the secondary restored `seq`, false when a suspension released it. */
  waitRestored(journal: string, seq: number): Promise<boolean> {
    return new Promise((resolve) => {
      const l = this.waiting.get(journal) ?? [];
      l.push({ seq, resolve });
      this.waiting.set(journal, l);
    });
  }

  releaseWaiters(journal: string, restored: number, all = false): void {
    const l = this.waiting.get(journal);
    if (!l) return;
    const keep = [];
    for (const w of l) {
      if (w.seq <= restored) w.resolve(true);
      else if (all) w.resolve(false);
      else keep.push(w);
    }
    this.waiting.set(journal, keep);
  }

  /** Releases every waiter as not restored (the controller stops). */
  releaseAll(): void {
    for (const w of this.waiting.values()) for (const x of w) x.resolve(false);
    this.waiting.clear();
  }
}
