/**
 * A job as the engine keeps it while it runs (its outcomes, results, events and abort), the
 * immutable snapshot the screen and JOBS read, and the deadlines of jobs with a timeout.
 */
import { setMaxListeners } from 'node:events';
import type { ErrorCode } from '../protocol/errors.js';
import type { Request } from '../protocol/ipc.js';
import { maskRequestLine } from '../protocol/vars.js';
import { NodeSet } from '../protocol/nodeset.js';
import type { JobState, Lane, VacmEvent } from '../protocol/events.js';
import type { CommandDef, JobOrigin, JobView, NodeOutcome } from '../protocol/module.js';

/** One job deadline: `fire` is dropped when the job ends, so that a cleared entry holds nothing. */
export interface Deadline {
  readonly at: number;
  fire: (() => void) | undefined;
}

/**
 * Job deadlines without a timer per job. The jobs of one command share their timeout, so their
 * deadlines arrive in order: one queue and one timer per distinct timeout, armed for the earliest
 * live deadline. Cleared entries are skipped at the head and compacted away once they outnumber the
 * live ones, so a job stuck until its deadline does not make the queue grow without bound.
 */
export class DeadlineQueue {
  private q: Deadline[] = [];
  private head = 0;
  private live = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  add(fire: () => void): Deadline {
    const d: Deadline = { at: Date.now() + this.ms, fire };
    this.q.push(d);
    this.live++;
    if (!this.timer) this.arm();
    return d;
  }

  clear(d: Deadline): void {
    if (!d.fire) return;
    d.fire = undefined;
    this.live--;
    this.tidy();
  }

  private tidy(): void {
    while (this.head < this.q.length && !this.q[this.head].fire) this.head++;
    if (this.live === 0) {
      this.q = [];
      this.head = 0;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.q.length - this.head > 1024 && this.q.length - this.head > 3 * this.live) {
      this.q = this.q.filter((x, i) => i >= this.head && x.fire);
      this.head = 0;
    }
  }

  private arm(): void {
    if (this.head >= this.q.length) return;
    this.timer = setTimeout(this.expire, Math.max(0, this.q[this.head].at - Date.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    while (this.head < this.q.length && (!this.q[this.head].fire || this.q[this.head].at <= now)) {
      const d = this.q[this.head++];
      const f = d.fire;
      if (f) {
        d.fire = undefined;
        this.live--;
        f();
      }
    }
    this.tidy();
    if (this.live > 0 && !this.timer) this.arm();
  };
}

/** what became of a node in a job: skipped nodes were known down and not run */
export type JobOutcome = NodeOutcome | 'skipped';

export class Job {
  state: JobState = 'running';
  readonly outcomes = new Map<string, JobOutcome>();
  readonly results = new Map<string, string>();
  readonly events: VacmEvent[] = [];
  truncated = 0;
  /** bytes of the OUTPUT lines kept; once one did not fit, later ones are dropped too */
  outputBytes = 0;
  outputFull = false;
  /** created on first use: most jobs (NEXXUS) never look at their signal */
  private ac?: AbortController;
  aborted = false;
  abortReason: unknown;
  private onAbort?: () => void;
  startedAt = Date.now();
  endedAt?: number;
  error?: { code: ErrorCode; message: string };
  /** what the command's prepare() adds to its audit records */
  auditDetail?: Readonly<Record<string, string>>;
  private cached?: JobView;
  terminalSent = false;
  resolveDone!: (v: JobView) => void;
  readonly done: Promise<JobView>;
  private folded?: string;
  /** the request as it may be shown and recorded: a secret's value masked (the module gets `req`) */
  readonly shownLine: string;

  constructor(
    readonly id: number,
    readonly req: Request,
    readonly cmd: CommandDef,
    readonly targets: readonly string[],
    readonly dangerous: boolean,
    readonly quiet: boolean,
    readonly user: string,
    private readonly allNames: NodeSet,
    private readonly nodeCount: number,
    readonly origin?: JobOrigin,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.shownLine = maskRequestLine(req.line);
  }

  /** the targets folded (computed when first needed: most jobs never show it) */
  get targetsFolded(): string {
    if (this.folded === undefined) {
      const t = this.targets;
      // one node folds to its own name (the common case: no set to build)
      this.folded = t.length === 0 ? '' : t.length === 1 ? t[0] : t.length === this.nodeCount ? this.allNames.fold() : NodeSet.fromNames(t).fold();
    }
    return this.folded;
  }

  get signal(): AbortSignal {
    if (!this.ac) {
      this.ac = new AbortController();
      // every running node operation listens for the job's abort: no leak warning past 10
      setMaxListeners(0, this.ac.signal);
      if (this.aborted) this.ac.abort(this.abortReason);
    }
    return this.ac.signal;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.ac?.abort(reason);
    this.onAbort?.();
  }

  /**
   * 'done' when `running` settles, 'aborted' if the job is aborted first (cancel, stop, job
   * deadline); rejects with running's error. One promise, not a race of three: the job path is
   * bound by the garbage collector.
   */
  until(running: Promise<void>): Promise<'done' | 'aborted'> {
    return new Promise((res, rej) => {
      if (this.aborted) return res('aborted');
      this.onAbort = () => res('aborted');
      running.then(() => res('done'), rej);
    });
  }

  get running(): boolean {
    return this.state === 'running' || this.state === 'queued';
  }

  get lane(): Lane {
    return this.cmd.lane;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  counts(): { ok: number; failed: number; skipped: number } {
    let ok = 0;
    let failed = 0;
    let skipped = 0;
    for (const o of this.outcomes.values()) o === 'ok' ? ok++ : o === 'skipped' ? skipped++ : failed++;
    return { ok, failed, skipped };
  }

  view(): JobView {
    if (this.cached) return this.cached;
    const { ok, failed, skipped } = this.counts();
    this.cached = new JobSnapshot(this, ok, failed, skipped);
    return this.cached;
  }
}

/** A job as it was at one moment: immutable; the folded targets are computed on first read. */
export class JobSnapshot implements JobView {
  readonly id: number;
  readonly tag: string;
  readonly command: string;
  readonly line: string;
  readonly targets: readonly string[];
  readonly state: JobState;
  readonly dangerous: boolean;
  readonly lane: Lane;
  readonly done: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: { code: string; message: string };
  readonly events: readonly VacmEvent[];
  readonly truncated: number;
  readonly quiet: boolean;
  readonly user: string;
  readonly origin?: JobOrigin;
  readonly #job: Job;

  constructor(job: Job, readonly ok: number, readonly failed: number, readonly skipped: number) {
    this.#job = job;
    this.id = job.id;
    this.tag = job.req.tag;
    this.command = job.req.command;
    this.line = job.shownLine;
    this.targets = job.targets;
    this.state = job.state;
    this.dangerous = job.dangerous;
    this.lane = job.cmd.lane;
    this.done = job.outcomes.size;
    this.startedAt = job.startedAt;
    this.endedAt = job.endedAt;
    this.error = job.error;
    // a finished job's events no longer change: freeze them in place instead of copying
    this.events = job.terminalSent ? Object.freeze(job.events) : Object.freeze(job.events.slice());
    this.truncated = job.truncated;
    this.quiet = job.quiet;
    this.user = job.user;
    if (job.origin) this.origin = job.origin;
    Object.freeze(this);
  }

  /** folded on first read: a script's NODE_LIST job is never shown folded */
  get targetsFolded(): string {
    return this.#job.targetsFolded;
  }

  toJSON(): object {
    return { ...this, targetsFolded: this.targetsFolded };
  }
}
