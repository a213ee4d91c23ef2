/**
 * The node controller (VACM's Nexxus): the nodelist and its variables, jobs with ids, the two lanes,
 * the audit log, and the store the screen renders. Requests come in as IPC strings; modules are
 * reached only through the registry.
 */
import { VacmError, readOnlyRefusal, toVacmError } from '../protocol/errors.js';
import { parseRequest, type Request } from '../protocol/ipc.js';
import type { EventBody, NodeState, PowerState, StatValue, VacmEvent } from '../protocol/events.js';
import {
  isDangerous,
  type CommandDef,
  type JobHandle,
  type JobView,
  type ModuleDef,
  type ModuleHost,
  type NodeVars,
  type NodeView,
  type SubmitOptions,
  type ConfigView,
  type JobOrigin,
  type SessionView,
} from '../protocol/module.js';
import { roleAtLeast, roleNeeded } from './auth.js';
import { AuditLog, currentUser, defaultStateDir } from './audit.js';
import { auditRefusal } from './audit-records.js';
import { Registry } from './registry.js';
import { Store, type NodeRecord, type Snapshot } from './store.js';
import { shortHostname } from './config.js';
import { Membership, parseHooksSection, parseMembershipSection } from './membership.js';
import { factOf } from '../protocol/node-facts.js';
import { HISTORY_SECTION, History, type GroupAggregate, type HistoryField } from './history.js';
import { checkSection } from '../protocol/config-schema.js';
import { parseOutputSection, type OutputLimits } from './output-limits.js';
import { DrainBook } from './drains.js';
import { Timeline, parseEventsSection } from './timeline.js';
import type { TimelineEntry, TimelineFields, TimelineKind } from '../protocol/timeline.js';
import type { DrainInfo, TimelineQuery } from '../protocol/module.js';
import type { BlackBox } from '../protocol/sensors.js';
import { TemperatureHistory } from './temperature-history.js';
import { Job, type JobOutcome } from './job.js';
import { JobRunner } from './runner.js';
import { Nodelist } from './nodelist.js';
import { NodeFacts } from './node-facts.js';
import type { EngineOptions, EventListener, Logger } from './engine-options.js';
import { EventListeners } from './listeners.js';

export type { JobOutcome } from './job.js';

export type { EngineOptions, EventListener, Logger } from './engine-options.js';

const MAX_U32 = 0xffffffff;

export class Engine implements ModuleHost {
  readonly config: ConfigView;
  readonly stateDir: string;
  readonly readOnly: boolean;
  readonly monitor: boolean;
  readonly localName: string;
  readonly registry: Registry;
  readonly store: Store;
  readonly audit: AuditLog;
  /** the node records, their variables and groups, node-set resolution */
  private readonly nodelist: Nodelist;
  private readonly records: Map<string, NodeRecord>;
  /** node state transitions: NODE_UP / NODE_DOWN and the hooks */
  readonly membership: Membership;
  /** per-node load history (fed by recordStats) */
  readonly history: History;
  /** the events timeline (docs/events.md): record() adds to it, NEXXUS:EVENTS reads it */
  readonly events: Timeline;
  /** per-node hottest temperature, a slot a minute (fed by SENSOR events) */
  readonly temperatures = new TemperatureHistory();
  /** reachability, power and stats put on the node records */
  private readonly facts: NodeFacts;
  /** drained nodes, kept in the state dir */
  private readonly drains: DrainBook;
  /** runs the jobs and keeps them (the running ones and the last finished ones) */
  private readonly runner: JobRunner;
  private readonly jobsById: Map<number, Job>;
  private readonly listeners = new EventListeners((err) => this.log('error', `event listener failed: ${err.message}`));
  private lastId = 0;
  private readonly jobIds: EngineOptions['jobIds'];
  private user: string | undefined;
  /** sessions attached through vacm serve's doors (NEXXUS:WHO), kept by the door */
  private readonly sessionList = new Map<number, SessionView>();
  /** running jobs per session, for serve.max_jobs_per_session */
  private readonly inFlight = new Map<number, number>();
  private started = false;
  private stopped = false;
  private readonly logger: Logger;
  /** vacm.yaml's output: section (per-job and gather bounds) */
  readonly outputLimits: OutputLimits;

  constructor(opts: EngineOptions) {
    this.config = opts.config.view;
    this.stateDir = opts.stateDir ?? defaultStateDir();
    this.jobIds = opts.jobIds;
    this.lastId = opts.jobIds?.last ?? 0;
    this.readOnly = opts.readOnly ?? false;
    this.monitor = opts.monitor ?? false;
    this.localName = opts.localName ?? shortHostname();
    this.registry = opts.modules instanceof Registry ? opts.modules : new Registry(opts.modules);
    this.logger = opts.log ?? (() => {});
    this.outputLimits = parseOutputSection(this.config.sections.output);
    if (opts.maxJobOutputBytes !== undefined) this.outputLimits.maxJobBytes = opts.maxJobOutputBytes;
    if (opts.maxTotalOutputBytes !== undefined) this.outputLimits.maxTotalBytes = opts.maxTotalOutputBytes;
    this.nodelist = new Nodelist({
      nodes: opts.config.nodes,
      localName: this.localName,
      maxNodes: this.config.maxNodes,
      clusterShellGroups: opts.clusterShellGroups,
      touch: (r) => this.store.touchNode(r),
      touchVars: (r) => this.store.touchVars(r),
      warn: (m) => this.log('warn', m),
    });
    this.records = this.nodelist.records;
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
    this.facts = new NodeFacts({
      records: this.records,
      membership: this.membership,
      history: this.history,
      temperatures: this.temperatures,
      store: this.store,
      monitor: this.monitor,
      record: (k, n, t, f, b) => this.record(k, n, t, f, b),
      consoleLines: (node, count) => this.consoleLines(node, count),
    });
    this.drains = new DrainBook(this.stateDir);
    try {
      this.applyDrains(this.drains.load());
    } catch (err) {
      // an unsafe or damaged drains.json: no node is taken as drained, and the operator is told
      this.log('warn', `drains not read: ${toVacmError(err, 'ERR_STATE_DIR').message}`);
    }
    this.runner = new JobRunner(
      {
        module: this,
        config: this.config,
        store: this.store,
        audit: this.audit,
        outputLimits: this.outputLimits,
        recordOf: (n) => this.records.get(n),
        vars: (n) => this.vars(n),
        observe: (t, b) => this.observe(t, b),
        dispatch: (e) => this.dispatch(e),
        record: (k, n, t, f) => this.record(k, n, t, f),
        log: (l, m) => this.log(l, m),
      },
      opts.maxJobEvents ?? 20_000,
      opts.cancelGraceMs ?? 2000,
    );
    this.jobsById = this.runner.byId;
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
    return this.listeners.add(listener);
  }

  getSnapshot(): Snapshot {
    return this.store.getSnapshot();
  }

  private dispatch(e: VacmEvent): void {
    this.listeners.dispatch(e);
  }

  /** What an event tells about its node, as its module declares (ModuleDef.facts), put on the records. */
  private observe(tag: string, e: EventBody): void {
    const fact = factOf(this.registry.module(tag)?.facts, e);
    if (fact) this.facts.apply(fact);
  }

  /** The node's last console lines from the module that keeps its console (the black box of a NODE_DOWN record). */
  private consoleLines(node: string, count: number): readonly string[] {
    for (const m of this.registry.list()) {
      try {
        const l = m.lastConsoleLines?.(node, count);
        if (l && l.length > 0) return l;
      } catch (err) {
        this.log('warn', `module ${m.tag} could not give ${node}'s console lines: ${(err as Error).message}`);
      }
    }
    return [];
  }

  emitUnsolicited(tag: string, body: EventBody): void {
    const e = Object.assign({ tag, job: 0, ts: Date.now() }, body) as VacmEvent;
    if (body.type === 'DISCOVERED') this.record('discovery', body.host, `discovered ${body.host} at ${body.addr} (NEXXUS:ADOPT adds it)`, { addr: body.addr });
    this.observe(tag, body);
    // new SEL records (the sensors poller's news): the timeline and the hooks with on: [sel]
    if (body.type === 'SEL') this.facts.newSelRecord(body);
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
    return this.nodelist.node(name);
  }

  /** Node names in nodelist order (a fresh array). */
  nodeNames(): string[] {
    return this.nodelist.nodeNames();
  }

  vars(node: string): NodeVars {
    return this.nodelist.vars(node);
  }

  groups(): Readonly<Record<string, readonly string[]>> {
    return this.nodelist.groups();
  }

  /** Resolve a node-set expression against the nodelist; every node must exist. Targets come in nodelist order. */
  resolve(expr: string): string[] {
    return this.nodelist.resolve(expr);
  }

  setVar(node: string, key: string, value: string): void {
    this.nodelist.setVar(node, key, value);
  }

  unsetVar(node: string, key: string): boolean {
    return this.nodelist.unsetVar(node, key);
  }

  onVarChange(cb: (node: string, key: string, value: string | undefined) => void): () => void {
    return this.nodelist.onVarChange(cb);
  }

  setNodeState(node: string, state: NodeState, reason?: string): void {
    this.facts.setNodeState(node, state, reason);
  }

  setPower(node: string, power: PowerState): void {
    this.facts.setPower(node, power);
  }

  recordStats(node: string, stats: Readonly<Record<string, StatValue>>, ts = Date.now()): void {
    this.facts.recordStats(node, stats, ts);
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

  addNode(def: { name: string; groups?: readonly string[]; vars?: Readonly<Record<string, string>> }): NodeView {
    return this.nodelist.addNode(def);
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
      if (!j || !j.running) {
        this.jobIds?.taken(this.lastId);
        return this.lastId;
      }
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
      const unrecorded = auditRefusal(this.audit, { id: 0, req, cmd, targets, user, origin }, ve, (l, m) => this.log(l, m));
      if (unrecorded) ve = new VacmError(ve.code, `${ve.message} (and the refusal was not recorded: ${unrecorded})`);
      if (!origin) this.emitUnsolicited('NEXXUS', { type: 'ERROR', code: ve.code, message: ve.message });
      throw ve;
    }
    const job = new Job(this.nextId(), req, cmd, targets, dangerous, opts.quiet ?? false, user, this.nodelist.allNames, this.records.size, origin);
    if (origin) {
      this.inFlight.set(origin.session, (this.inFlight.get(origin.session) ?? 0) + 1);
      void job.done.then(() => {
        const n = (this.inFlight.get(origin.session) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(origin.session);
        else this.inFlight.set(origin.session, n);
      });
    }
    this.runner.add(job);
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
      const unrecorded = auditRefusal(this.audit, { id: 0, req, cmd, targets, user: origin.user, origin }, ve, (l, m) => this.log(l, m));
      if (unrecorded) ve = new VacmError(ve.code, `${ve.message} (and the refusal was not recorded: ${unrecorded})`);
    }
    throw ve;
  }

}

function historyStep(raw: unknown): number | undefined {
  checkSection(HISTORY_SECTION, raw);
  return (raw as { step_s?: number } | null | undefined)?.step_s;
}