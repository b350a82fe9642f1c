/**
 * Group append for a master journal: the records of host writes that arrive while an append is
 * being written go into the next append together (one batch, one positional write of its
 * segments), instead of one append per write under the write lock. The write lock only queues a
 * write's records here; the write's volume write waits for its batch (write-ahead: WriteContext.before).
 *
 * Invariants:
 *   - Batches are appended in the order they were opened and records within a batch in the order
 *     they were queued, so seqs follow the write lock's order, as one append per write did.
 *   - canFit() counts the records queued and not yet appended: what it admits fits once every
 *     pending batch is in (records are placed one after another from the head).
 *   - A batch is all or nothing (a batch of the journal, layout.ts): when its append fails, every
 *     write in it fails before its volume write.
 *   - Records whose data is in shared memory (an NBD connection's payloads) get their data's crc32
 *     from a worker thread, started when they are queued, when crc32 is zlib's (crc-offload.ts; with
 *     the native crc32 the batch's encoding computes it); their batch is appended once all are in.
 */
import type { JournalFile } from '../journal/journal-file.js';
import { crc32Many, offloadable } from '../util/crc-offload.js';
import type { JournalAppendEntry } from '../journal/layout.js';

interface Batch {
  entries: JournalAppendEntry[];
  /** The crcs of entries in shared memory, computed on a worker while the batch waits (crc-offload.ts). */
  crcs: Array<Promise<void>>;
  run: Promise<{ firstSeq: number; lastSeq: number }>;
}

export class MasterAppender {
  /** The batch that takes new records (not started yet). */
  private open: Batch | null = null;
  /** Batches queued or being written. */
  private readonly pending = new Set<Batch>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly journal: JournalFile) {}

  /** Whether records of these data lengths fit after every pending one. */
  canFit(lengths: number[]): boolean {
    const all: number[] = [];
    for (const b of this.pending) for (const e of b.entries) all.push(e.data.length);
    return this.journal.canFit(all.concat(lengths));
  }

  /** Queues records; resolves with their seqs once their batch is in the journal (not fsynced). */
  append(entries: JournalAppendEntry[]): Promise<{ firstSeq: number; lastSeq: number }> {
    const b = this.open ?? this.openBatch();
    const at = b.entries.length;
    for (const e of entries) b.entries.push(e);
    if (entries.some((e) => offloadable(e.data))) {
      const crcs = crc32Many(entries.map((e) => e.data)).then((c) => entries.forEach((e, i) => (e.dataCrc = c[i])));
      b.crcs.push(crcs);
    }
    const n = entries.length;
    return b.run.then((r) => ({ firstSeq: r.firstSeq + at, lastSeq: r.firstSeq + at + n - 1 }));
  }

  /** Resolves once every record queued so far is appended (or its batch failed). */
  async drained(): Promise<void> {
    await this.chain;
  }

  private openBatch(): Batch {
    const b: Batch = { entries: [], crcs: [], run: Promise.resolve({ firstSeq: 0, lastSeq: 0 }) };
    b.run = this.chain.then(async () => {
      if (this.open === b) this.open = null;
      await Promise.all(b.crcs);
      return this.journal.append(b.entries);
    });
    b.run.then(
      () => this.pending.delete(b),
      () => this.pending.delete(b),
    );
    this.chain = b.run.catch(() => undefined);
    this.pending.add(b);
    this.open = b;
    return b;
  }
}
