/**
 * The node controller (VACM's Nexxus): the nodelist and its variables, jobs with ids, the two lanes,
 * the audit log, and the store the screen renders. Requests come in as IPC strings; modules are
 * reached only through the registry.
 */
import { setMaxListeners } from 'node:events';
import { VacmError, readOnlyRefusal, toVacmError, type ErrorCode } from '../protocol/errors.js';
import { parseRequest, type Request } from '../protocol/ipc.js';
import { badVarName, maskRequestLine } from '../protocol/vars.js';
import { NodeSet, plainNamesIn, type LiveSelector } from '../protocol/nodeset.js';
import { nodeNameProblem } from '../protocol/node-name.js';
import { escapeControls } from '../protocol/visible.js';
import type { GroupSources } from '../protocol/groups.js';
import type { ClusterShellGroupOptions } from '../platform/clustershell-groups.js';
import { VACM_SOURCE, groupSourcesFor, matchesLive } from './groups.js';
import type { EventBody, JobState, Lane, NodeState, PowerState, StatValue, VacmEvent } from '../protocol/events.js';
import {
  isDangerous,
  type CommandDef,
  type ForEachNodeOptions,
  type JobContext,
  type JobHandle,
  type JobView,
  type ModuleDef,
  type ModuleHost,
  type NodeOp,
  type NodeOutcome,
  type NodeVars,
  type NodeView,
  type SubmitOptions,
  type ConfigView,
  type JobOrigin,
  type SessionView,
} from '../protocol/module.js';
import { roleAtLeast, roleNeeded } from './auth.js';
import { BulkLane } from './lanes.js';
import { AuditLog, currentUser, defaultStateDir, type AuditRecord } from './audit.js';
import { Registry } from './registry.js';
import { LOAD_HISTORY, Store, frozenCopy, nodeView, shownState, type NodeRecord, type Snapshot } from './store.js';
import { shortHostname, type LoadedConfig, type NodeDef } from './config.js';
import { Membership, parseHooksSection, parseMembershipSection, reachEvidence } from './membership.js';
import { HISTORY_SECTION, History, type GroupAggregate, type HistoryField } from './history.js';
import { checkSection } from '../protocol/config-schema.js';
import { parseOutputSection, type OutputLimits } from './output-limits.js';
import { DrainBook } from './drains.js';
import { Timeline, parseEventsSection } from './timeline.js';
import type { TimelineEntry, TimelineFields, TimelineKind } from '../protocol/timeline.js';
import type { DrainInfo, TimelineQuery } from '../protocol/module.js';
import { BLACK_BOX_CONSOLE_LINES, recentSelLines, safeReading, safeSel, withReading, withSel, type BlackBox } from '../protocol/sensors.js';
import { TemperatureHistory } from './temperature-history.js';

export type EventListener = (e: VacmEvent) => void;
export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface EngineOptions {
  config: LoadedConfig;
  modules: readonly ModuleDef[] | Registry;
  stateDir?: string;
  readOnly?: boolean;
  /** run pollers and heartbeats (dashboard, serve); off for one-shot ipc */
  monitor?: boolean;
  /** name of the machine vacm runs on (default: short hostname) */
  localName?: string;
  log?: Logger;
  /** events kept per job for the screen and JOBS (default 20 000) */
  maxJobEvents?: number;
  /** OUTPUT bytes kept per job (default vacm.yaml's output.max_job_bytes, 16 MiB) */
  maxJobOutputBytes?: number;
  /** OUTPUT bytes kept by all finished jobs (default vacm.yaml's output.max_total_bytes, 256 MiB) */
  maxTotalOutputBytes?: number;
  /** how long a cancelled job's module may take to wind down before the job is ended anyway */
  cancelGraceMs?: number;
  /** where ClusterShell's group sources are read from (default: this process's environment) */
  clusterShellGroups?: ClusterShellGroupOptions;
  /** load history to go on with (vacm serve reloading its config); a new one when its step differs */
  history?: History;
}

const MAX_U32 = 0xffffffff;
const KEEP_FINISHED = 200;
/** resolved node sets remembered (oldest dropped first), each of at most this many nodes */
const RESOLVE_CACHE_SIZE = 256;
const RESOLVE_CACHE_MAX_NODES = 1024;
const NEVER = new Promise<never>(() => {});
const TIMED_OUT = Symbol('timeout');

/** One job deadline: `fire` is dropped when the job ends, so that a cleared entry holds nothing. */
interface Deadline {
  readonly at: number;
  fire: (() => void) | undefined;
}

/**
 * Job deadlines without a timer per job. The jobs of one command share their timeout, so their
 * deadlines arrive in order: one queue and one timer per distinct timeout, armed for the earliest
 * live deadline. Cleared entries are skipped at the head and compacted away once they outnumber the
 * live ones, so a job stuck until its deadline does not make the queue grow without bound.
 */
class DeadlineQueue {
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

/** exec.skip_states when the config does not say */
const DEFAULT_SKIP_STATES: readonly NodeState[] = ['down', 'off'];

class Job {
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
class JobSnapshot implements JobView {
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

export class Engine implements ModuleHost {
  readonly config: ConfigView;
  readonly stateDir: string;
  readonly readOnly: boolean;
  readonly monitor: boolean;
  readonly localName: string;
  readonly registry: Registry;
  readonly store: Store;
  readonly audit: AuditLog;
  private readonly records = new Map<string, NodeRecord>();
  private allNames: NodeSet;
  /** node state transitions: NODE_UP / NODE_DOWN and the hooks */
  readonly membership: Membership;
  /** per-node load history (fed by recordStats) */
  readonly history: History;
  /** the events timeline (docs/events.md): record() adds to it, NEXXUS:EVENTS reads it */
  readonly events: Timeline;
  /** per-node hottest temperature, a slot a minute (fed by SENSOR events) */
  readonly temperatures = new TemperatureHistory();
  /** drained nodes, kept in the state dir */
  private readonly drains: DrainBook;
  private readonly bulk: BulkLane;
  private readonly jobsById = new Map<number, Job>();
  /** ids of finished jobs, oldest first: the last KEEP_FINISHED are kept for JOBS and the screen */
  private readonly finished: number[] = [];
  /** OUTPUT bytes kept by the finished jobs in `finished` */
  private finishedOutputBytes = 0;
  private readonly listeners = new Set<EventListener>();
  private readonly varListeners = new Set<(node: string, key: string, value: string | undefined) => void>();
  private lastId = 0;
  /** job deadlines by timeout (ms): one timer per distinct timeout, not one per job */
  private readonly deadlines = new Map<number, DeadlineQueue>();
  /** jobs submitted in this tick, started together on the next */
  private toStart: Job[] = [];
  private readonly startSubmitted = (): void => {
    const jobs = this.toStart;
    this.toStart = [];
    for (const j of jobs) void this.runJob(j);
  };
  private user: string | undefined;
  /** sessions attached through vacm serve's doors (NEXXUS:WHO), kept by the door */
  private readonly sessionList = new Map<number, SessionView>();
  /** running jobs per session, for serve.max_jobs_per_session */
  private readonly inFlight = new Map<number, number>();
  private started = false;
  private stopped = false;
  private readonly logger: Logger;
  private readonly maxJobEvents: number;
  /** vacm.yaml's output: section (per-job and gather bounds) */
  readonly outputLimits: OutputLimits;
  private readonly cancelGraceMs: number;
  private readonly clusterShellOptions: ClusterShellGroupOptions | undefined;

  constructor(opts: EngineOptions) {
    this.config = opts.config.view;
    this.stateDir = opts.stateDir ?? defaultStateDir();
    this.readOnly = opts.readOnly ?? false;
    this.monitor = opts.monitor ?? false;
    this.localName = opts.localName ?? shortHostname();
    this.registry = opts.modules instanceof Registry ? opts.modules : new Registry(opts.modules);
    this.logger = opts.log ?? (() => {});
    this.maxJobEvents = opts.maxJobEvents ?? 20_000;
    this.outputLimits = parseOutputSection(this.config.sections.output);
    if (opts.maxJobOutputBytes !== undefined) this.outputLimits.maxJobBytes = opts.maxJobOutputBytes;
    if (opts.maxTotalOutputBytes !== undefined) this.outputLimits.maxTotalBytes = opts.maxTotalOutputBytes;
    this.cancelGraceMs = opts.cancelGraceMs ?? 2000;
    this.clusterShellOptions = opts.clusterShellGroups;
    const now = Date.now();
    for (const d of opts.config.nodes) {
      const local = d.name === this.localName;
      this.records.set(d.name, {
        name: d.name,
        groups: [...d.groups],
        // no prototype: a key such as constructor or __proto__ is just a key (or absent)
        vars: Object.assign(Object.create(null) as Record<string, string>, d.vars),
        reach: local ? 'up' : 'unknown',
        since: now,
        power: local ? 'on' : 'unknown',
        local,
        loadHistory: [],
      });
    }
    this.allNames = NodeSet.fromNames(this.records.keys());
    const ms = parseMembershipSection(this.config.sections.membership);
    this.membership = new Membership({ emit: (b) => this.emitUnsolicited('NEXXUS', b), log: (l, m) => this.log(l, m), maxConcurrent: ms.maxConcurrentHooks, maxQueued: ms.maxQueuedHooks });
    const hooks = parseHooksSection(this.config.sections.hooks);
    // decision: shell hooks run only in a standing engine (the dashboard, vacm serve) that is not
    // read-only. A one-shot vacm ipc starts every node at unknown and exits when its requests end:
    // its "transitions" are not news, and its hooks would be killed half-way.
    if (hooks.length > 0 && this.monitor && !this.readOnly) this.membership.addShellHooks(hooks, ms.hookEnv);
    else if (hooks.length > 0) this.log('info', `${hooks.length} hook(s) from the config not run: ${this.readOnly ? 'vacm runs read-only' : 'hooks run only in the dashboard and vacm serve'}`);
    const history = new History({ stepS: historyStep(this.config.sections.history) });
    this.history = opts.history?.stepS === history.stepS ? opts.history : history;
    this.store = new Store(this.config.cluster, this.records);
    this.audit = new AuditLog(this.stateDir);
    this.events = new Timeline({ stateDir: this.stateDir, settings: parseEventsSection(this.config.sections.events), log: (l, m) => this.log(l, m) });
    this.drains = new DrainBook(this.stateDir);
    try {
      this.applyDrains(this.drains.load());
    } catch (err) {
      // an unsafe or damaged drains.json: no node is taken as drained, and the operator is told
      this.log('warn', `drains not read: ${toVacmError(err, 'ERR_STATE_DIR').message}`);
    }
    this.bulk = new BulkLane(this.config.fanout);
  }

  /** Lock the registry and initialise the modules (pollers, pools). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.registry.lock();
    // a standing engine shows the timeline: read it back now (a one-shot ipc reads it only if asked)
    if (this.monitor) this.events.load();
    for (const m of this.registry.list()) {
      if (m.init) await m.init(this);
    }
  }

  /** Cancel running jobs, wait for them to end, and release the modules' resources. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const running = [...this.jobsById.values()].filter((j) => j.running);
    for (const j of running) j.abort();
    await Promise.all(running.map((j) => j.done));
    await this.membership.stop();
    for (const m of this.registry.list()) {
      try {
        await m.dispose?.();
      } catch (err) {
        this.log('warn', `module ${m.tag} did not dispose cleanly: ${(err as Error).message}`);
      }
    }
    this.audit.close();
    this.events.close();
  }

  // ---- events -------------------------------------------------------------------------------

  /** Every event, as it happens (synchronously). Returns an unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getSnapshot(): Snapshot {
    return this.store.getSnapshot();
  }

  private dispatch(e: VacmEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log('error', `event listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** What every job's results tell about the nodes: membership evidence, power, stats. */
  private observe(e: EventBody): void {
    switch (e.type) {
      case 'PING':
      case 'ERROR': {
        const ev = reachEvidence(e);
        if (ev) this.setNodeState(ev.node, ev.state, ev.reason);
        break;
      }
      case 'POWER':
        this.setPower(e.node, e.state);
        break;
      case 'STAT':
        this.recordStats(e.node, e.stats);
        break;
      case 'SENSOR':
      case 'SEL':
        this.recordSensors(e);
        break;
      default:
        break;
    }
  }

  emitUnsolicited(tag: string, body: EventBody): void {
    const e = Object.assign({ tag, job: 0, ts: Date.now() }, body) as VacmEvent;
    if (body.type === 'DISCOVERED') this.record('discovery', body.host, `discovered ${body.host} at ${body.addr} (NEXXUS:ADOPT adds it)`, { addr: body.addr });
    this.observe(body);
    if (body.type === 'SEL') this.newSelRecord(body);
    this.dispatch(e);
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.logger(level, message);
  }

  // ---- nodes and variables ------------------------------------------------------------------

  nodes(): readonly NodeView[] {
    return this.store.getSnapshot().nodes;
  }

  node(name: string): NodeView | undefined {
    const r = this.records.get(name);
    return r ? nodeView(r) : undefined;
  }

  /** Node names in nodelist order (a fresh array). */
  nodeNames(): string[] {
    return [...this.records.keys()];
  }

  vars(node: string): NodeVars {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    return r.vars;
  }

  groups(): Readonly<Record<string, readonly string[]>> {
    // no prototype: `@constructor` or `@__proto__` must be an unknown group, not Object's own
    const g: Record<string, string[]> = Object.create(null);
    for (const r of this.records.values()) for (const name of r.groups) (g[name] ??= []).push(r.name);
    return g;
  }

  private clusterShell: GroupSources | undefined;

  /**
   * `@group`: vacm.yaml's groups (also as `@vacm:group`), then ClusterShell's group sources
   * (`@group` in its default source, `@source:group`), read on first use.
   */
  private groupMembers = (group: string): string[] | string | undefined => {
    const own = group.startsWith(`${VACM_SOURCE}:`) ? group.slice(VACM_SOURCE.length + 1) : group;
    const g = this.groups()[own];
    if (g) return [...g];
    if (own !== group) return undefined;
    this.clusterShell ??= groupSourcesFor({}, this.clusterShellOptions);
    return this.clusterShell.resolve(group);
  };

  /** `@state=down`, `@power=off`, `@stale=S`, `@var.KEY=GLOB`: the nodes that match now, in nodelist order. */
  private liveMembers = (sel: LiveSelector): string[] => {
    const now = Date.now();
    const out: string[] = [];
    for (const r of this.records.values()) if (matchesLive(r, sel, now)) out.push(r.name);
    return out;
  };

  /** Resolve a node-set expression against the nodelist; every node must exist. Targets come in nodelist order. */
  resolve(expr: string): string[] {
    const e = expr.trim();
    if (e === '*') return this.nodeNames();
    if (this.records.has(e)) return [e]; // a plain node name: the common case, no parsing needed
    // scripts and pollers send the same small sets again and again: remember their resolution
    // (until the nodelist changes); a failing one is not cached, so its error is always fresh
    const hit = this.resolved.get(e);
    if (hit) return hit.slice();
    const names = this.resolveUncached(e);
    // groups may come from ClusterShell's upcalls, which have their own cache_time, and live
    // selectors (`@state=down`) change with every ping: nothing with an `@` is kept here
    if (names.length <= RESOLVE_CACHE_MAX_NODES && !e.includes('@')) {
      if (this.resolved.size >= RESOLVE_CACHE_SIZE) this.resolved.delete(this.resolved.keys().next().value!);
      this.resolved.set(e, names.slice());
    }
    return names;
  }

  private readonly resolved = new Map<string, string[]>();

  private resolveUncached(e: string): string[] {
    const set = NodeSet.parse(e, { resolveGroup: this.groupMembers, resolveLive: this.liveMembers, universe: () => this.records.keys(), maxNodes: this.config.maxNodes });
    let unknown: NodeSet | undefined;
    let names: string[] = [];
    if (set.size <= this.records.size) {
      // small sets (the common case) are checked name by name, without set arithmetic
      names = set.expand();
      const missing = names.filter((n) => !this.records.has(n));
      if (missing.length) unknown = NodeSet.fromNames(missing);
    } else {
      unknown = set.difference(this.allNames);
    }
    if (unknown && unknown.size > 0) {
      let shown = unknown.fold();
      if (shown.length > 200) shown = shown.slice(0, 200) + '...';
      throw new VacmError('ERR_NO_SUCH_NODE', `${unknown.size === 1 ? 'node' : `${unknown.size} nodes`} not in the nodelist: ${shown}; NEXXUS:NODE_LIST shows the nodes`, { fragment: shown });
    }
    if (names.length === this.records.size) return this.nodeNames();
    const order = this.nodeOrder();
    return names.sort((a, b) => order.get(a)! - order.get(b)!);
  }

  private orderCache: Map<string, number> | undefined;
  private nodeOrder(): Map<string, number> {
    if (!this.orderCache) this.orderCache = new Map([...this.records.keys()].map((n, i) => [n, i]));
    return this.orderCache;
  }

  setVar(node: string, key: string, value: string): void {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    const bad = badVarName(key);
    if (bad) throw new VacmError('ERR_BAD_ARGS', bad);
    r.vars[key] = value;
    this.store.touchNode(r);
    this.varChanged(node, key, value);
  }

  unsetVar(node: string, key: string): boolean {
    const r = this.records.get(node);
    if (!r) throw new VacmError('ERR_NO_SUCH_NODE', `no node ${node} in the nodelist`);
    if (!Object.hasOwn(r.vars, key)) return false;
    delete r.vars[key];
    this.store.touchNode(r);
    this.varChanged(node, key, undefined);
    return true;
  }

  private varChanged(node: string, key: string, value: string | undefined): void {
    for (const cb of this.varListeners) {
      try {
        cb(node, key, value);
      } catch (err) {
        this.log('warn', `variable listener failed: ${(err as Error).message}`);
      }
    }
  }

  onVarChange(cb: (node: string, key: string, value: string | undefined) => void): () => void {
    this.varListeners.add(cb);
    return () => this.varListeners.delete(cb);
  }

  setNodeState(node: string, state: NodeState, reason?: string): void {
    const r = this.records.get(node);
    if (!r) return;
    if (r.reach === state && r.reason === reason) return;
    const before = shownState(r);
    r.reach = state;
    r.reason = reason;
    if (state === 'up' && r.power === 'unknown') r.power = 'on';
    this.nodeStateChanged(r, before);
  }

  setPower(node: string, power: PowerState): void {
    const r = this.records.get(node);
    if (!r || r.power === power) return;
    const before = shownState(r);
    r.power = power;
    if (power === 'off') r.reason = 'powered off';
    this.nodeStateChanged(r, before);
  }

  private nodeStateChanged(r: NodeRecord, before: NodeState): void {
    const changed = this.membership.changed(r, before);
    this.store.touchNode(r);
    // news for the timeline: a known state that changed, in a standing engine (a one-shot ipc
    // starts every node at unknown, and a dashboard's first sweep is not what happened)
    if (changed && this.monitor && before !== 'unknown') {
      const to = shownState(r);
      // a NODE_DOWN record carries the node's last words (its black box)
      this.record('membership', r.name, `${to}${to !== 'up' && r.reason ? `: ${r.reason}` : ''} (was ${before})`, { from: before, to }, before === 'up' ? this.blackBox(r) : undefined);
    }
  }

  /** What the node said last: console lines (from the module that keeps its console), its SEL of the last 10 minutes, its stats. */
  private blackBox(r: NodeRecord): BlackBox {
    let lines: readonly string[] = [];
    for (const m of this.registry.list()) {
      try {
        const l = m.lastConsoleLines?.(r.name, BLACK_BOX_CONSOLE_LINES);
        if (l && l.length > 0) {
          lines = l;
          break;
        }
      } catch (err) {
        this.log('warn', `module ${m.tag} could not give ${r.name}'s console lines: ${(err as Error).message}`);
      }
    }
    return { console: lines, sel: recentSelLines(r.sensors, Date.now()), stats: r.stats ?? {}, ...(r.statsTs !== undefined ? { statsAt: r.statsTs } : {}) };
  }

  /** A SENSOR or SEL event of any job: the node's latest readings and recent SEL (bounded, made safe). */
  private recordSensors(e: Extract<EventBody, { type: 'SENSOR' | 'SEL' }>): void {
    const r = this.records.get(e.node);
    if (!r) return;
    const now = Date.now();
    const before = r.sensors;
    if (e.type === 'SENSOR') {
      const reading = safeReading(e, now);
      r.sensors = withReading(before, reading);
      if (reading.unit === 'C' && reading.num !== undefined) this.temperatures.record(r.name, now, reading.num);
    } else r.sensors = withSel(before, safeSel(e, now));
    if (r.sensors !== before) this.store.touchNode(r);
  }

  /** A job-0 SEL event (the sensors poller's news): the timeline and the hooks that asked for `sel`. */
  private newSelRecord(e: Extract<EventBody, { type: 'SEL' }>): void {
    const r = this.records.get(e.node);
    if (!r) return;
    const s = safeSel(e, Date.now());
    this.record('sel', r.name, `SEL ${s.id}: ${s.sensor}: ${s.event} (${s.direction}) at ${s.time}`, { id: s.id, sensor: s.sensor, direction: s.direction });
    this.membership.selRecord(r, { id: s.id, time: s.time, sensor: s.sensor, event: s.event, direction: s.direction });
  }

  // ---- drains and the timeline --------------------------------------------------------------

  /** Put drains on the node records (those of nodes not in the nodelist are kept in the file only). */
  private applyDrains(drains: ReadonlyMap<string, DrainInfo>): void {
    for (const r of this.records.values()) {
      const d = drains.get(r.name);
      if (r.drain === d) continue;
      r.drain = d;
      this.store.touchNode(r);
    }
  }

  drain(nodes: readonly string[], reason: string, who: string): DrainInfo {
    const d = this.drains.drain(nodes, reason, who);
    this.applyDrains(this.drains.all());
    return d;
  }

  undrain(nodes: readonly string[]): string[] {
    const was = this.drains.undrain(nodes);
    this.applyDrains(this.drains.all());
    return was;
  }

  /** The drain of a node, if it is drained. */
  drainOf(node: string): DrainInfo | undefined {
    return this.records.get(node)?.drain;
  }

  record(kind: TimelineKind, node: string | undefined, text: string, fields?: TimelineFields, blackBox?: BlackBox): void {
    try {
      this.events.record(kind, node, text, fields, blackBox);
    } catch (err) {
      this.log('warn', `timeline entry not recorded: ${(err as Error).message}`);
    }
  }

  /** Everything the timeline keeps that matches (the files, else memory): NEXXUS:EVENTS. */
  timeline(q: TimelineQuery): readonly TimelineEntry[] {
    return this.events.query(q);
  }

  /** The newest entries in memory, without I/O: the dashboard's `e` view and detail pane. */
  recentEvents(q: TimelineQuery = {}): readonly TimelineEntry[] {
    return this.events.recent(q);
  }

  /** Load history of a node set (`node[01-04]`, `@rack1`, `*`) over a time range. */
  historyOf(expr: string, fromMs: number, toMs: number, resolution: 'auto' | 'fine' | 'coarse' = 'auto') {
    return this.history.query(this.resolve(expr), fromMs, toMs, resolution);
  }

  /** Per-group aggregates of a history field over a time range (every group, or those named). */
  historyByGroup(fromMs: number, toMs: number, field: HistoryField = 'load1', only?: readonly string[]): GroupAggregate[] {
    const all = this.groups();
    const groups = only ? Object.fromEntries(only.filter((g) => all[g]).map((g) => [g, all[g]])) : all;
    return this.history.aggregate(groups, fromMs, toMs, field);
  }

  /** Add a node at run time (NEXXUS:ADOPT); its state is unknown until evidence arrives. */
  addNode(def: { name: string; groups?: readonly string[]; vars?: Readonly<Record<string, string>> }): NodeView {
    const bad = nodeNameProblem(def.name);
    if (bad) throw new VacmError('ERR_BAD_ARGS', `${bad}: "${escapeControls(def.name)}" cannot be added`);
    if (this.records.has(def.name)) throw new VacmError('ERR_BAD_ARGS', `${def.name} is already in the nodelist`);
    const d: NodeDef = { name: def.name, groups: [...(def.groups ?? [])], vars: Object.assign(Object.create(null) as Record<string, string>, def.vars) };
    const r: NodeRecord = { name: d.name, groups: d.groups, vars: d.vars, reach: 'unknown', since: Date.now(), power: 'unknown', local: d.name === this.localName, loadHistory: [] };
    this.records.set(d.name, r);
    this.allNames = NodeSet.fromNames(this.records.keys());
    this.orderCache = undefined;
    this.resolved.clear();
    this.store.touchNode(r);
    return nodeView(r);
  }

  recordStats(node: string, stats: Readonly<Record<string, StatValue>>, ts = Date.now()): void {
    const r = this.records.get(node);
    if (!r) return;
    r.stats = frozenCopy(stats);
    r.statsTs = ts;
    this.history.record(node, ts, stats);
    const load = Number(stats.load1);
    if (Number.isFinite(load)) {
      r.loadHistory.push(load);
      if (r.loadHistory.length > LOAD_HISTORY) r.loadHistory.splice(0, r.loadHistory.length - LOAD_HISTORY);
    }
    this.store.touchNode(r);
  }

  // ---- modules and jobs ---------------------------------------------------------------------

  modules(): readonly ModuleDef[] {
    return this.registry.list();
  }

  jobs(): readonly JobView[] {
    return [...this.jobsById.values()].filter((j) => !j.quiet).map((j) => j.view());
  }

  job(id: number): JobView | undefined {
    return this.jobsById.get(id)?.view();
  }

  /** Sessions attached to vacm serve, oldest first (NEXXUS:WHO). */
  sessions(): readonly SessionView[] {
    return [...this.sessionList.values()];
  }

  /** A door of vacm serve says a session began (returns its end) — the engine only lists them. */
  addSession(s: SessionView): () => void {
    this.sessionList.set(s.id, s);
    return () => {
      this.sessionList.delete(s.id);
    };
  }

  /** What became of each node of a job (kept while the job is): ok, failed, or skipped as known down. */
  jobOutcomes(id: number): ReadonlyMap<string, JobOutcome> | undefined {
    const j = this.jobsById.get(id);
    return j ? new Map(j.outcomes) : undefined;
  }

  cancel(id: number): boolean {
    const j = this.jobsById.get(id);
    if (!j || !j.running) return false;
    j.abort();
    return true;
  }

  private nextId(): number {
    for (let i = 0; i < 1000; i++) {
      this.lastId = this.lastId >= MAX_U32 ? 1 : this.lastId + 1;
      const j = this.jobsById.get(this.lastId);
      if (!j || !j.running) return this.lastId;
    }
    throw new VacmError('ERR_INTERNAL', 'no free job id');
  }

  /** Parse the request and resolve its targets; throws a VacmError for anything that cannot run. */
  prepare(line: string): { req: Request; cmd: CommandDef; targets: string[] } {
    const req = parseRequest(line, this.registry.shape, (t) => this.registry.has(t));
    const cmd = this.registry.command(req.tag, req.command)!;
    let targets: string[] = [];
    if (req.nodes.trim() !== '' && !cmd.outsideNodelist) targets = this.resolve(req.nodes);
    return { req, cmd, targets };
  }

  /**
   * Submit a request. A request that cannot be parsed or resolved gets an unsolicited
   * `NEXXUS:0:ERROR:<code>:<message>` and this throws that VacmError; otherwise the job starts on
   * the next tick (so the caller knows the id before JOB_STARTED arrives).
   */
  submit(line: string, opts: SubmitOptions = {}): JobHandle {
    let prepared: { req: Request; cmd: CommandDef; targets: string[] };
    try {
      if (this.stopped) throw new VacmError('ERR_INTERNAL', 'the engine is stopping');
      prepared = this.prepare(line);
    } catch (err) {
      const ve = toVacmError(err, 'ERR_PROTO_PARSE');
      // a serve session's bad request is that session's own business, not every attached client's
      if (!opts.origin) this.emitUnsolicited('NEXXUS', { type: 'ERROR', code: ve.code, message: ve.message });
      throw ve;
    }
    const { req, cmd, targets } = prepared;
    const dangerous = isDangerous(cmd, req);
    const origin = opts.origin;
    const user = origin?.user ?? opts.user ?? (this.user ??= currentUser(this.audit.identity));
    if (origin) this.authorize(req, cmd, dangerous, targets, origin);
    if (dangerous && this.readOnly) {
      let ve = readOnlyRefusal(`${req.tag}:${req.command}`);
      // refused before a job exists: audited as job 0, an outcome with no attempt
      const unrecorded = this.auditRefusal({ id: 0, req, cmd, targets, user, origin }, ve);
      if (unrecorded) ve = new VacmError(ve.code, `${ve.message} (and the refusal was not recorded: ${unrecorded})`);
      if (!origin) this.emitUnsolicited('NEXXUS', { type: 'ERROR', code: ve.code, message: ve.message });
      throw ve;
    }
    const job = new Job(this.nextId(), req, cmd, targets, dangerous, opts.quiet ?? false, user, this.allNames, this.records.size, origin);
    if (origin) {
      this.inFlight.set(origin.session, (this.inFlight.get(origin.session) ?? 0) + 1);
      void job.done.then(() => {
        const n = (this.inFlight.get(origin.session) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(origin.session);
        else this.inFlight.set(origin.session, n);
      });
    }
    this.jobsById.set(job.id, job);
    this.store.addJob(job);
    // started on the next tick, every job submitted in this one by a single resolved promise (not
    // queueMicrotask: that pays for an async-hooks scope)
    this.toStart.push(job);
    if (this.toStart.length === 1) void Promise.resolve().then(this.startSubmitted);
    return { id: job.id, done: job.done, cancel: () => this.cancel(job.id) };
  }

  /**
   * A request through a door of vacm serve: its user's role must allow it (auth.ts, roleNeeded), and
   * its session may have only so many jobs in flight. A refusal is audited (job 0, state refused,
   * with who and where), sent to the session as `NEXXUS:0:ERROR:ERR_FORBIDDEN:...`, and thrown.
   */
  private authorize(req: Request, cmd: CommandDef, dangerous: boolean, targets: string[], origin: JobOrigin): void {
    const need = roleNeeded(req, cmd, dangerous, targets, { config: this.config, varsOf: (n) => this.records.get(n)?.vars, job: (id) => this.job(id), user: origin.user });
    let ve: VacmError | undefined;
    if (!roleAtLeast(origin.role, need.role)) {
      ve = new VacmError('ERR_FORBIDDEN', `${need.why} needs the ${need.role} role; ${origin.user} is ${origin.role === 'viewer' ? 'a' : 'an'} ${origin.role} (serve.users); ask an admin`);
    } else if (origin.maxJobs !== undefined && (this.inFlight.get(origin.session) ?? 0) >= origin.maxJobs) {
      ve = new VacmError('ERR_LIMIT', `this session already has ${origin.maxJobs} jobs in flight (serve.max_jobs_per_session); wait for some to end`);
    }
    if (!ve) return;
    if (ve.code === 'ERR_FORBIDDEN') {
      const unrecorded = this.auditRefusal({ id: 0, req, cmd, targets, user: origin.user, origin }, ve);
      if (unrecorded) ve = new VacmError(ve.code, `${ve.message} (and the refusal was not recorded: ${unrecorded})`);
    }
    throw ve;
  }

  private emitFor(job: Job, body: EventBody): void {
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
        if (job.outputFull || job.outputBytes + n > this.outputLimits.maxJobBytes) {
          job.outputFull = true;
          job.truncated++;
        } else {
          job.outputBytes += n;
          job.events.push(e);
        }
      }
    }
    if (terminal) job.terminalSent = true;
    this.observe(body);
    job.invalidate();
    // a quiet job (the pollers' sweeps) is not in the snapshot: what it observes touches the nodes itself
    if (!job.quiet) this.store.changed();
    this.dispatch(e);
  }

  private outcome(job: Job, key: string, result: NodeOutcome): void {
    const before = job.outcomes.get(key);
    if (before === 'failed' || before === 'skipped') return;
    job.outcomes.set(key, result);
    if (!job.results.has(key)) job.results.set(key, result);
    job.invalidate();
    if (!job.quiet) this.store.changed();
  }

  private async forEachNode(job: Job, nodes: readonly string[], op: (n: NodeOp) => Promise<NodeOutcome | void>, opts: ForEachNodeOptions = {}): Promise<void> {
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
          vars = this.vars(node);
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
          cmd.validate(req, targets, this);
        } catch (err) {
          const ve = toVacmError(err, 'ERR_BAD_ARGS');
          for (const n of targets) this.emitFor(job, { type: 'ERROR', node: n, code: ve.code, message: ve.message });
          if (job.dangerous) this.auditSafe(job, 'outcome', 'refused', ve);
          throw ve;
        }
      }
      if (cmd.prepare) {
        try {
          const detail = await cmd.prepare(req, targets, this, job.signal);
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
        this.audit.append(this.auditRecord(job, 'attempt')); // throws ERR_AUDIT: then nothing runs
        auditAttempted = true;
      }
      let nodes: readonly string[] = targets;
      if (job.dangerous && !cmd.reachesDrained && !job.quiet) nodes = this.skipDrained(job, nodes);
      if (cmd.skipKnownDown && !job.quiet) nodes = this.skipKnownDown(job, nodes);
      const ctx: JobContext = {
        id: job.id,
        user: job.user,
        request: req,
        nodes,
        args: req.named,
        get signal() {
          return job.signal;
        },
        host: this,
        origin: job.origin,
        emit: (b) => this.emitFor(job, b),
        forEachNode: (nodes, op, opts) => this.forEachNode(job, nodes, op, opts),
        outcome: (key, result) => this.outcome(job, key, result),
      };
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
    if (!job.quiet) this.store.changed();
    const view = job.view();
    job.resolveDone(view);
    // forget finished jobs beyond a bound (quiet ones at once)
    if (job.quiet) this.jobsById.delete(job.id);
    else {
      this.finished.push(job.id);
      if (this.finished.length > KEEP_FINISHED * 2) {
        for (const id of this.finished.splice(0, this.finished.length - KEEP_FINISHED)) this.forgetFinished(id);
      }
      // and beyond a bound on the output they keep together (a node printing 16 MiB to every command)
      this.finishedOutputBytes += job.outputBytes;
      while (this.finishedOutputBytes > this.outputLimits.maxTotalBytes && this.finished.length > 1) {
        const id = this.finished.shift()!;
        this.forgetFinished(id);
        this.store.forgetJob(id);
      }
    }
  }

  /**
   * Skip the targets known down or off (exec.skip_states): each gets SKIPPED at once and counts
   * neither ok nor failed. A node the request names one by one (`SSH:EXEC:node07:...`) is run
   * anyway: the operator asked for it. Returns the targets to run, in order.
   */
  private skipKnownDown(job: Job, targets: readonly string[]): readonly string[] {
    const states = this.config.exec.skipStates ?? DEFAULT_SKIP_STATES;
    if (states.length === 0 || targets.length === 0) return targets;
    let named: Set<string> | undefined;
    const run: string[] = [];
    for (const node of targets) {
      const r = this.records.get(node);
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
      const d = this.records.get(node)?.drain;
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
    this.record(kind, auditTargets(job).targets || undefined, `${job.user}: ${job.shownLine} → ${outcome}`, fields);
  }

  private forgetFinished(id: number): void {
    const j = this.jobsById.get(id);
    if (j) this.finishedOutputBytes -= j.outputBytes;
    this.jobsById.delete(id);
  }

  /** What every record says: when, who (the process's identity), which job, what it asked, on which nodes. */
  private auditHead(phase: 'attempt' | 'outcome', job: AuditedJob): AuditRecord {
    return {
      ts: new Date().toISOString(),
      phase,
      job: job.id,
      user: job.user,
      ...this.audit.identity,
      // who came through which door of vacm serve (absent for this process's own requests)
      ...(job.origin ? { door: job.origin.door, addr: job.origin.addr, key: job.origin.key, role: job.origin.role } : {}),
      // one place where the request is recorded: a secret SET_VAR's value is masked here
      request: maskRequestLine(job.req.line),
      ...auditTargets(job),
    };
  }

  private auditRecord(job: Job, phase: 'attempt' | 'outcome', state?: string, err?: { code: string; message: string }): AuditRecord {
    const rec = this.auditHead(phase, job);
    if (job.auditDetail) rec.detail = job.auditDetail;
    if (phase === 'outcome') {
      const { ok, failed } = job.counts();
      rec.state = state;
      rec.ok = ok;
      rec.failed = failed;
      if (err) rec.error = `${err.code}: ${err.message}`;
      rec.results = Object.fromEntries(job.results);
    }
    return rec;
  }

  /**
   * Write an outcome (the action has run or been refused: it cannot be stopped any more); when that
   * fails, the job gets an ERR_AUDIT error before its terminal event and the log says so.
   */
  private auditSafe(job: Job, phase: 'attempt' | 'outcome', state?: string, err?: { code: string; message: string }): void {
    try {
      this.audit.append(this.auditRecord(job, phase, state, err));
    } catch (e) {
      const ve = toVacmError(e, 'ERR_AUDIT');
      const message = `the outcome of job ${job.id} (${job.req.tag}:${job.req.command}) was not recorded: ${ve.message}`;
      this.log('error', `${ve.code}: ${message}`);
      this.emitFor(job, { type: 'ERROR', code: ve.code, message });
    }
  }

  /** Audit a request refused before it became a job (ERR_READ_ONLY); returns why it could not be, if so. */
  private auditRefusal(job: Omit<AuditedJob, 'targetsFolded'>, ve: VacmError): string | undefined {
    const targetsFolded = job.targets.length === 0 ? '' : NodeSet.fromNames(job.targets).fold();
    const rec = { ...this.auditHead('outcome', { ...job, targetsFolded }), state: 'refused', ok: 0, failed: 0, error: `${ve.code}: ${ve.message}` };
    try {
      this.audit.append(rec);
      return undefined;
    } catch (e) {
      const ae = toVacmError(e, 'ERR_AUDIT');
      this.log('error', `${ae.code}: the refusal of ${job.req.tag}:${job.req.command} was not recorded: ${ae.message}`);
      return `${ae.code}: ${ae.message}`;
    }
  }
}

/** What an audit record is written from: a Job, or a request refused before it became one. */
interface AuditedJob {
  id: number;
  user: string;
  origin?: JobOrigin;
  req: Request;
  cmd: CommandDef;
  targets: readonly string[];
  targetsFolded: string;
}

/**
 * What an audit record names as the targets: the resolved nodes, folded; for a command whose nodes
 * are not in the nodelist yet (ADOPT), the requested set as given, and its size.
 */
function auditTargets(job: AuditedJob): { targets: string; count: number } {
  if (job.targets.length > 0 || !job.cmd.outsideNodelist || job.req.nodes.trim() === '') return { targets: job.targetsFolded, count: job.targets.length };
  let count = 0;
  try {
    count = NodeSet.parse(job.req.nodes).size;
  } catch {
    /* a set that does not parse: the job itself says why */
  }
  return { targets: job.req.nodes, count };
}

function historyStep(raw: unknown): number | undefined {
  checkSection(HISTORY_SECTION, raw);
  return (raw as { step_s?: number } | null | undefined)?.step_s;
}
