/**
 * The bulk lane: an engine-wide limit of `fanout` concurrent node operations, shared round-robin
 * between jobs so that a 4096-node sweep does not starve a 4-node command. The control lane has no
 * such limit and never queues here. A job may cap its own share further (ForEachNodeOptions.concurrency).
 */
type Task = { job: number; run: () => Promise<void>; resolve: () => void };

export class BulkLane {
  private running = 0;
  /** per job, its queued tasks; Map keeps insertion order for the round-robin */
  private readonly queues = new Map<number, Task[]>();
  private lastServed = -1;
  /** per job with a cap of its own: the cap, and how many of its tasks run now */
  private readonly caps = new Map<number, { limit: number; running: number }>();
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

  /**
   * Queue `run` for `job`; resolves when it has run (it never rejects: `run` must not throw).
   * `concurrency` (> 0): at most that many of this job's tasks run at once, within the fanout.
   */
  submit(job: number, run: () => Promise<void>, concurrency?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let q = this.queues.get(job);
      if (!q) this.queues.set(job, (q = []));
      if (concurrency !== undefined && concurrency > 0 && !this.caps.has(job)) this.caps.set(job, { limit: Math.floor(concurrency) || 1, running: 0 });
      q.push({ job, run, resolve });
      this.pump();
    });
  }

  /** Drop a job's queued (not yet started) tasks; their promises resolve without running. */
  drop(job: number): void {
    const q = this.queues.get(job);
    if (!q) return;
    this.queues.delete(job);
    if (this.caps.get(job)?.running === 0) this.caps.delete(job);
    for (const t of q) t.resolve();
  }

  private next(): Task | undefined {
    if (this.queues.size === 0) return undefined;
    const jobs = [...this.queues.keys()];
    // start after the job served last, wrapping: round-robin by job, passing over a job at its cap
    let start = jobs.findIndex((j) => j > this.lastServed);
    if (start < 0) start = 0;
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(start + k) % jobs.length];
      const cap = this.caps.get(job);
      if (cap && cap.running >= cap.limit) continue;
      const q = this.queues.get(job)!;
      const t = q.shift()!;
      if (q.length === 0) this.queues.delete(job);
      this.lastServed = job;
      return t;
    }
    return undefined;
  }

  private done(t: Task): void {
    const cap = this.caps.get(t.job);
    if (!cap) return;
    cap.running--;
    if (cap.running === 0 && !this.queues.has(t.job)) this.caps.delete(t.job);
  }

  private pump(): void {
    while (this.running < this.fanout) {
      const t = this.next();
      if (!t) return;
      this.running++;
      const cap = this.caps.get(t.job);
      if (cap) cap.running++;
      void t.run().finally(() => {
        this.running--;
        this.done(t);
        t.resolve();
        this.pump();
      });
    }
  }
}
