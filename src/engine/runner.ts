/**
 * The job runner: starts submitted jobs, hands their modules a JobContext, walks their nodes (the
 * lanes, per-node timeouts, cancel), keeps their events within bounds, writes their audit records
 * and ends each with exactly one terminal event. The engine owns the nodes and the store; the
 * runner reaches them through RunnerHost.
 */
import { VacmError, toVacmError } from '../protocol/errors.js';
import { plainNamesIn } from '../protocol/nodeset.js';
import type { EventBody, JobState, NodeState, VacmEvent } from '../protocol/events.js';
import type { ConfigView, ForEachNodeOptions, JobContext, ModuleHost, NodeOp, NodeOutcome, NodeVars } from '../protocol/module.js';
import type { TimelineFields, TimelineKind } from '../protocol/timeline.js';
import { BulkLane } from './lanes.js';
import type { AuditLog } from './audit.js';
import { auditRecord, auditTargets } from './audit-records.js';
import { shownState, type NodeRecord, type Store } from './store.js';
import type { OutputLimits } from './output-limits.js';
import { DeadlineQueue, type Deadline, type Job } from './job.js';

const KEEP_FINISHED = 200;
const NEVER = new Promise<never>(() => {});
const TIMED_OUT = Symbol('timeout');

/** exec.skip_states when the config does not say */
const DEFAULT_SKIP_STATES: readonly NodeState[] = ['down', 'off'];

/** What the runner needs of the engine. */
export interface RunnerHost {
  /** what modules are handed (the engine itself) */
  readonly module: ModuleHost;
  readonly config: ConfigView;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly outputLimits: OutputLimits;
  recordOf(node: string): NodeRecord | undefined;
  vars(node: string): NodeVars;
  /** what an event of module `tag` tells about its node (the store), as the module declares */
  observe(tag: string, body: EventBody): void;
  /** an event to every subscriber */
  dispatch(e: VacmEvent): void;
  record(kind: TimelineKind, node: string | undefined, text: string, fields?: TimelineFields): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/**
 * What a module's run is handed: one object per job, its methods on the prototype (the job path is
 * bound by the garbage collector: an object literal with three closures and a getter per job was
 * ~0.3 KB of it). The methods need their `this`: a module calls them as ctx.emit(...) (no module
 * takes them off the context).
 */
class RunContext implements JobContext {
  readonly id: number;
  readonly user: string;
  readonly request: Job['req'];
  readonly args: Readonly<Record<string, string>>;
  readonly host: ModuleHost;
  readonly origin: Job['origin'];

  constructor(
    private readonly runner: JobRunner,
    private readonly job: Job,
    readonly nodes: readonly string[],
  ) {
    this.id = job.id;
    this.user = job.user;
    this.request = job.req;
    this.args = job.req.named;
    this.host = runner.moduleHost;
    this.origin = job.origin;
  }

  get signal(): AbortSignal {
    return this.job.signal;
  }

  emit(b: EventBody): void {
    this.runner.emitFor(this.job, b);
  }

  forEachNode(nodes: readonly string[], op: (n: NodeOp) => Promise<NodeOutcome | void>, opts?: ForEachNodeOptions): Promise<void> {
    return this.runner.forEachNode(this.job, nodes, op, opts);
  }

  outcome(key: string, result: NodeOutcome): void {
    this.runner.outcome(this.job, key, result);
  }
}

export class JobRunner {
  /** the jobs kept: running ones, and the last finished ones for JOBS and the screen */
  readonly byId = new Map<number, Job>();
  /** ids of finished jobs, oldest first: the last KEEP_FINISHED are kept for JOBS and the screen */
  private readonly finished: number[] = [];
  /** OUTPUT bytes kept by the finished jobs in `finished` */
  private finishedOutputBytes = 0;
  /** job deadlines by timeout (ms): one timer per distinct timeout, not one per job */
  private readonly deadlines = new Map<number, DeadlineQueue>();
  /** jobs submitted in this tick, started together on the next */
  private toStart: Job[] = [];
  private readonly startSubmitted = (): void => {
    const jobs = this.toStart;
    this.toStart = [];
    for (const j of jobs) void this.runJob(j);
  };
  private readonly bulk: BulkLane;

  constructor(
    private readonly host: RunnerHost,
    private readonly maxJobEvents: number,
    private readonly cancelGraceMs: number,
  ) {
    this.bulk = new BulkLane(host.config.fanout);
  }

  /** Keep the job and start it on the next tick (so the caller knows the id before JOB_STARTED arrives). */
  add(job: Job): void {
    this.byId.set(job.id, job);
    this.host.store.addJob(job);
    // started on the next tick, every job submitted in this one by a single resolved promise (not
    // queueMicrotask: that pays for an async-hooks scope)
    this.toStart.push(job);
    if (this.toStart.length === 1) void Promise.resolve().then(this.startSubmitted);
  }

  emitFor(job: Job, body: EventBody): void {
    if (job.terminalSent) return; // a module that keeps talking after its job ended is ignored
    // Object.assign, not spread: spreading these variously-shaped bodies is ~18x slower in V8 here
    const e = Object.assign({ tag: job.req.tag, job: job.id, ts: Date.now() }, body) as VacmEvent;
    if (body.type === 'ERROR' && body.node !== undefined) {
      job.outcomes.set(body.node, 'failed');
      job.results.set(body.node, body.code);
    } else if (body.type === 'EXIT') {
      job.results.set(body.node, `exit ${body.code}`);
    } else if (body.type === 'POWER') {
      job.results.set(body.node, body.state);
    } else if (body.type === 'COPY') {
      job.results.set(body.node, body.sha256 === 'unchanged' ? 'unchanged' : `copied ${body.bytes} bytes sha256:${body.sha256}`);
    }
    const terminal = body.type === 'JOB_COMPLETED' || body.type === 'JOB_FAILED' || body.type === 'JOB_CANCELLED';
    if (!job.quiet && body.type !== 'JOB_STARTED') {
      // bounded twice: by events, and by output bytes (64 KiB lines would make 20 000 events 1.3 GB);
      // past the byte bound only OUTPUT is dropped, so the exits and errors of every node are kept
      if (job.events.length >= this.maxJobEvents) job.truncated++;
      else if (body.type !== 'OUTPUT') job.events.push(e);
      else {
        const n = Buffer.byteLength(body.line);
        if (job.outputFull || job.outputBytes + n > this.host.outputLimits.maxJobBytes) {
          job.outputFull = true;
          job.truncated++;
        } else {
          job.outputBytes += n;
          job.events.push(e);
        }
      }
    }
    if (terminal) job.terminalSent = true;
    this.host.observe(job.req.tag, body);
    job.invalidate();
    // a quiet job (the pollers' sweeps) is not in the snapshot: what it observes touches the nodes itself
    if (!job.quiet) this.host.store.changed();
    this.host.dispatch(e);
  }

  /** what modules are handed as ctx.host */
  get moduleHost(): ModuleHost {
    return this.host.module;
  }

  outcome(job: Job, key: string, result: NodeOutcome): void {
    const before = job.outcomes.get(key);
    if (before === 'failed' || before === 'skipped') return;
    job.outcomes.set(key, result);
    if (!job.results.has(key)) job.results.set(key, result);
    job.invalidate();
    if (!job.quiet) this.host.store.changed();
  }

  async forEachNode(job: Job, nodes: readonly string[], op: (n: NodeOp) => Promise<NodeOutcome | void>, opts: ForEachNodeOptions = {}): Promise<void> {
    const runOne = async (node: string): Promise<void> => {
      if (job.aborted) return;
      const jobSignal = job.signal;
      const ac = new AbortController();
      const onJobAbort = () => ac.abort(jobSignal.reason);
      jobSignal.addEventListener('abort', onJobAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const timeout = opts.timeoutMs !== undefined && opts.timeoutMs > 0
        ? new Promise<typeof TIMED_OUT>((res) => (timer = setTimeout(() => res(TIMED_OUT), opts.timeoutMs)))
        : NEVER;
      try {
        let vars: NodeVars;
        try {
          vars = this.host.vars(node);
        } catch (err) {
          throw toVacmError(err);
        }
        const r = await Promise.race([Promise.resolve().then(() => op({ node, vars, signal: ac.signal })), timeout]);
        if (r === TIMED_OUT) {
          ac.abort(new VacmError('ERR_TIMEOUT', 'timeout'));
          this.emitFor(job, { type: 'ERROR', node, code: 'ERR_TIMEOUT', message: opts.timeoutMessage ?? `no answer within ${opts.timeoutMs} ms` });
          return;
        }
        this.outcome(job, node, r ?? 'ok');
      } catch (err) {
        if (job.aborted) return; // cancelled: the node is neither ok nor failed
        const ve = toVacmError(err, 'ERR_MODULE');
        this.emitFor(job, { type: 'ERROR', node, code: ve.code, message: ve.message });
      } finally {
        if (timer) clearTimeout(timer);
        jobSignal.removeEventListener('abort', onJobAbort);
      }
    };
    if (job.lane === 'bulk') {
      await Promise.all(nodes.map((n) => this.bulk.submit(job.id, () => runOne(n), opts.concurrency)));
      return;
    }
    const limit = opts.concurrency && opts.concurrency > 0 ? opts.concurrency : Infinity;
    if (limit >= nodes.length) {
      await Promise.all(nodes.map(runOne));
      return;
    }
    let next = 0;
    const worker = async () => {
      while (next < nodes.length) await runOne(nodes[next++]);
    };
    await Promise.all(Array.from({ length: limit }, worker));
  }

  /** The module's run as one promise; a synchronous throw becomes its rejection. */
  private startRun(job: Job, ctx: JobContext): Promise<void> {
    try {
      const r = job.cmd.run(ctx);
      if (r && typeof (r as AsyncIterable<EventBody>)[Symbol.asyncIterator] === 'function') {
        return (async () => {
          for await (const b of r as AsyncIterable<EventBody>) this.emitFor(job, b);
        })();
      }
      return r instanceof Promise ? r : Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async runJob(job: Job): Promise<void> {
    const { req, cmd, targets } = job;
    this.emitFor(job, { type: 'JOB_STARTED', request: job.shownLine, targets: targets.length });
    let finalState: JobState = 'completed';
    let auditAttempted = false;
    let deadline: Deadline | undefined;
    try {
      if (cmd.validate) {
        try {
          cmd.validate(req, targets, this.host.module);
        } catch (err) {
          const ve = toVacmError(err, 'ERR_BAD_ARGS');
          for (const n of targets) this.emitFor(job, { type: 'ERROR', node: n, code: ve.code, message: ve.message });
          if (job.dangerous) this.auditSafe(job, 'outcome', 'refused', ve);
          throw ve;
        }
      }
      if (cmd.prepare) {
        try {
          const detail = await cmd.prepare(req, targets, this.host.module, job.signal);
          if (detail) job.auditDetail = detail;
        } catch (err) {
          const ve = toVacmError(err, 'ERR_BAD_ARGS');
          if (job.aborted) throw ve;
          for (const n of targets) this.emitFor(job, { type: 'ERROR', node: n, code: ve.code, message: ve.message });
          if (job.dangerous) this.auditSafe(job, 'outcome', 'refused', ve);
          throw ve;
        }
      }
      if (job.dangerous) {
        this.host.audit.append(auditRecord(this.host.audit.identity, job, 'attempt')); // throws ERR_AUDIT: then nothing runs
        auditAttempted = true;
      }
      let nodes: readonly string[] = targets;
      if (job.dangerous && !cmd.reachesDrained && !job.quiet) nodes = this.skipDrained(job, nodes);
      if (cmd.skipKnownDown && !job.quiet) nodes = this.skipKnownDown(job, nodes);
      const ctx = new RunContext(this, job, nodes);
      if (cmd.jobTimeoutMs) {
        const ms = cmd.jobTimeoutMs;
        let q = this.deadlines.get(ms);
        if (!q) this.deadlines.set(ms, (q = new DeadlineQueue(ms)));
        deadline = q.add(() => job.abort(new VacmError('ERR_TIMEOUT', `${req.tag}:${req.command} did not finish within ${ms} ms`)));
      }
      const running = this.startRun(job, ctx);
      const first = await job.until(running);
      if (first === 'aborted') {
        this.bulk.drop(job.id);
        // give the module a moment to close what it opened, then end the job regardless
        await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, this.cancelGraceMs).unref())]);
        const reason = job.abortReason;
        if (reason instanceof VacmError && reason.code === 'ERR_TIMEOUT') throw reason;
        finalState = 'cancelled';
      }
    } catch (err) {
      const ve = toVacmError(err, 'ERR_MODULE');
      finalState = ve.code === 'ERR_CANCELLED' ? 'cancelled' : 'failed';
      if (finalState === 'failed') job.error = { code: ve.code, message: ve.message };
    } finally {
      if (deadline) this.deadlines.get(cmd.jobTimeoutMs!)!.clear(deadline);
    }
    job.state = finalState;
    job.endedAt = Date.now();
    // the outcome is written before the terminal event, so that a failure to write it reaches
    // whoever watches the job (ipc, the jobs pane) as the job's own ERR_AUDIT error
    if (auditAttempted) this.auditSafe(job, 'outcome', finalState, job.error);
    this.recordJob(job);
    if (finalState === 'completed') {
      const { ok, failed, skipped } = job.counts();
      this.emitFor(job, skipped > 0 ? { type: 'JOB_COMPLETED', ok, failed, skipped } : { type: 'JOB_COMPLETED', ok, failed });
    } else if (finalState === 'cancelled') {
      this.emitFor(job, { type: 'JOB_CANCELLED' });
    } else {
      this.emitFor(job, { type: 'JOB_FAILED', code: job.error!.code, message: job.error!.message });
    }
    job.invalidate();
    if (!job.quiet) this.host.store.changed();
    const view = job.view();
    job.resolveDone(view);
    // forget finished jobs beyond a bound (quiet ones at once)
    if (job.quiet) this.byId.delete(job.id);
    else {
      this.finished.push(job.id);
      if (this.finished.length > KEEP_FINISHED * 2) {
        for (const id of this.finished.splice(0, this.finished.length - KEEP_FINISHED)) this.forgetFinished(id);
      }
      // and beyond a bound on the output they keep together (a node printing 16 MiB to every command)
      this.finishedOutputBytes += job.outputBytes;
      while (this.finishedOutputBytes > this.host.outputLimits.maxTotalBytes && this.finished.length > 1) {
        const id = this.finished.shift()!;
        this.forgetFinished(id);
        this.host.store.forgetJob(id);
      }
    }
  }

  /**
   * Skip the targets known down or off (exec.skip_states): each gets SKIPPED at once and counts
   * neither ok nor failed. A node the request names one by one (`SSH:EXEC:node07:...`) is run
   * anyway: the operator asked for it. Returns the targets to run, in order.
   */
  private skipKnownDown(job: Job, targets: readonly string[]): readonly string[] {
    const states = this.host.config.exec.skipStates ?? DEFAULT_SKIP_STATES;
    if (states.length === 0 || targets.length === 0) return targets;
    let named: Set<string> | undefined;
    const run: string[] = [];
    for (const node of targets) {
      const r = this.host.recordOf(node);
      const state = r ? shownState(r) : 'unknown';
      if (!r || !states.includes(state) || (named ??= plainNamesIn(job.req.nodes)).has(node)) {
        run.push(node);
        continue;
      }
      const reason = r.reason ?? (state === 'off' ? 'powered off' : `state ${state}`);
      this.emitFor(job, { type: 'SKIPPED', node, state, reason });
      job.outcomes.set(node, 'skipped');
      job.results.set(node, `skipped: ${state}`);
    }
    return run.length === targets.length ? targets : run;
  }

  /**
   * Skip the drained targets of a dangerous request: each gets SKIPPED:node:drained:<who, since,
   * reason> at once and counts neither ok nor failed, unless the request names it one by one or
   * ends in :FORCE (a command's `force` argument). Returns the targets to run, in order.
   */
  private skipDrained(job: Job, targets: readonly string[]): readonly string[] {
    if (targets.length === 0 || job.req.named.force === 'FORCE') return targets;
    let named: Set<string> | undefined;
    const run: string[] = [];
    for (const node of targets) {
      const d = this.host.recordOf(node)?.drain;
      if (!d || (named ??= plainNamesIn(job.req.nodes)).has(node)) {
        run.push(node);
        continue;
      }
      this.emitFor(job, { type: 'SKIPPED', node, state: 'drained', reason: `drained by ${d.who} since ${new Date(d.since).toISOString()}: ${d.reason}` });
      job.outcomes.set(node, 'skipped');
      job.results.set(node, 'skipped: drained');
    }
    return run.length === targets.length ? targets : run;
  }

  /**
   * A finished job in the timeline: the ones that change something, and SSH's (exec, copy), with
   * who ran them and the outcome; one entry per job, about its folded targets.
   */
  private recordJob(job: Job): void {
    if (job.quiet || job.cmd.recordsItself || !(job.dangerous || job.req.tag === 'SSH')) return;
    const { tag, command } = job.req;
    const kind: TimelineKind = tag === 'POWER' || tag === 'EMP' || tag === 'IPMI' ? 'power' : tag === 'SSH' ? (command === 'EXEC' ? 'exec' : 'copy') : 'job';
    const { ok, failed, skipped } = job.counts();
    const outcome = job.state === 'completed' ? `ok=${ok} failed=${failed}${skipped ? ` skipped=${skipped}` : ''}` : job.state === 'failed' ? `failed: ${job.error?.code}: ${job.error?.message}` : job.state;
    const fields: Record<string, string | number> = { user: job.user, job: job.id, state: job.state, ok, failed };
    if (skipped) fields.skipped = skipped;
    this.host.record(kind, auditTargets(job).targets || undefined, `${job.user}: ${job.shownLine} → ${outcome}`, fields);
  }

  private forgetFinished(id: number): void {
    const j = this.byId.get(id);
    if (j) this.finishedOutputBytes -= j.outputBytes;
    this.byId.delete(id);
  }

  /**
   * Write an outcome (the action has run or been refused: it cannot be stopped any more); when that
   * fails, the job gets an ERR_AUDIT error before its terminal event and the log says so.
   */
  private auditSafe(job: Job, phase: 'attempt' | 'outcome', state?: string, err?: { code: string; message: string }): void {
    try {
      this.host.audit.append(auditRecord(this.host.audit.identity, job, phase, state, err));
    } catch (e) {
      const ve = toVacmError(e, 'ERR_AUDIT');
      const message = `the outcome of job ${job.id} (${job.req.tag}:${job.req.command}) was not recorded: ${ve.message}`;
      this.host.log('error', `${ve.code}: ${message}`);
      this.emitFor(job, { type: 'ERROR', code: ve.code, message });
    }
  }
}
