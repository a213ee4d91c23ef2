/**
 * The bulk lane: an engine-wide limit of `fanout` concurrent node operations, shared round-robin
 * between jobs so that a 4096-node sweep does not starve a 4-node command. The control lane has no
 * such limit and never queues here.
 */
type Task = { run: () => Promise<void>; resolve: () => void };

export class BulkLane {
  private running = 0;
  /** per job, its queued tasks; Map keeps insertion order for the round-robin */
  private readonly queues = new Map<number, Task[]>();
  private lastServed = -1;
  fanout: number;

  constructor(fanout: number) {
    this.fanout = Math.max(1, Math.floor(fanout));
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Queue `run` for `job`; resolves when it has run (it never rejects: `run` must not throw). */
  submit(job: number, run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      let q = this.queues.get(job);
      if (!q) this.queues.set(job, (q = []));
      q.push({ run, resolve });
      this.pump();
    });
  }

  /** Drop a job's queued (not yet started) tasks; their promises resolve without running. */
  drop(job: number): void {
    const q = this.queues.get(job);
    if (!q) return;
    this.queues.delete(job);
    for (const t of q) t.resolve();
  }

  private next(): Task | undefined {
    if (this.queues.size === 0) return undefined;
    const jobs = [...this.queues.keys()];
    // start after the job served last, wrapping: round-robin by job
    let idx = jobs.findIndex((j) => j > this.lastServed);
    if (idx < 0) idx = 0;
    const job = jobs[idx];
    const q = this.queues.get(job)!;
    const t = q.shift()!;
    if (q.length === 0) this.queues.delete(job);
    this.lastServed = job;
    return t;
  }

  private pump(): void {
    while (this.running < this.fanout) {
      const t = this.next();
      if (!t) return;
      this.running++;
      void t.run().finally(() => {
        this.running--;
        t.resolve();
        this.pump();
      });
    }
  }
}
