/**
 * Work a command started in the controller and waits for (a workload, a backup): each runs as a
 * job that `rcopy jobs` lists and `rcopy jobs stop` / `rcopy workload stop` stops, and that stops
 * by itself when the command's connection closes (Ctrl-C, kill, a closed pipe). A job only asks to
 * stop; the work checks `stopped` at its own safe points and ends as it would at its natural end.
 */
import type { Service } from './handlers.js';
import type { JobView } from './admin-types.js';

export type { JobView };

export class Job {
  private asked: string | null = null;
  constructor(
    readonly view: Omit<JobView, 'stopping'>,
    private readonly signal: AbortSignal,
    private readonly done: () => void,
  ) {}

  /** True once a stop was asked, or the client that started the job is gone. */
  get stopped(): boolean {
    return this.asked !== null || this.signal.aborted;
  }

  /** Why it stopped, or null while it runs on. */
  get reason(): string | null {
    return this.asked ?? (this.signal.aborted ? 'the command that started it went away' : null);
  }

  stop(why: string): void {
    this.asked ??= why;
  }

  end(): void {
    this.done();
  }
}

export class JobRegistry implements Service {
  readonly name = 'jobs';
  private next = 1;
  private readonly live = new Map<number, Job>();

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const j of this.live.values()) j.stop('the controller is stopping');
  }

  /** Registers work; call end() when it is over (finally). */
  begin(kind: string, what: string, signal: AbortSignal): Job {
    const id = this.next++;
    const job = new Job({ id, kind, what, started: Date.now() }, signal, () => this.live.delete(id));
    this.live.set(id, job);
    return job;
  }

  list(): JobView[] {
    return [...this.live.values()].map((j) => ({ ...j.view, stopping: j.stopped }));
  }

  /** Asks the jobs to stop (all of a kind when id is null); returns the ones asked. */
  stopJobs(id: number | null, kind: string | null, why: string): JobView[] {
    const hit = [...this.live.values()].filter((j) => (id === null || j.view.id === id) && (kind === null || j.view.kind === kind));
    for (const j of hit) j.stop(why);
    return hit.map((j) => ({ ...j.view, stopping: true }));
  }
}
