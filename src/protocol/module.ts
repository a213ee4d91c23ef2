/**
 * The module (backend) contract: a module is one object `{ tag, commands }`, registered by tag.
 * These are types only; the engine implements JobContext and ModuleHost. Backends import this
 * file (and the rest of protocol/), never the engine.
 */
import type { ResultGathering } from './gather.js';
import type { CommandShape, Request } from './ipc.js';
import type { EventBody, Lane, NodeState, PowerState, StatValue, VacmEvent, JobState } from './events.js';
import type { ExecAllowEntry } from './shell-words.js';
import type { TimelineEntry, TimelineFields, TimelineKind } from './timeline.js';
import type { CustomAction } from './actions.js';
import type { NodeSensors } from './sensors.js';
import type { EventFacts } from './node-facts.js';

export type NodeVars = Readonly<Record<string, string>>;
export type NodeOutcome = 'ok' | 'failed';

/** A drained node: marked "do not touch" by `who` at `since` (ms since the epoch), for `reason`. */
export interface DrainInfo {
  readonly who: string;
  readonly since: number;
  /** controls already escaped, at most a few hundred characters (still shown through visibleLine) */
  readonly reason: string;
}

/** What NEXXUS:EVENTS asks of the timeline: entries touching these nodes (all when absent), in [since, until]. */
export interface TimelineQuery {
  readonly nodes?: readonly string[];
  readonly since?: number;
  readonly until?: number;
}

/** One node as the engine's store holds it: an immutable snapshot. */
/** How many nodes are in each shown state (the header's tally). */
export interface Counts {
  up: number;
  down: number;
  off: number;
  unknown: number;
  /** drained nodes, counted here and not under their state */
  drained: number;
}

export interface NodeView {
  readonly name: string;
  readonly groups: readonly string[];
  readonly vars: NodeVars;
  readonly state: NodeState;
  readonly stateReason?: string;
  readonly stateSince: number;
  readonly power: PowerState;
  /** the machine vacm runs on */
  readonly local: boolean;
  readonly stats?: Readonly<Record<string, StatValue>>;
  readonly statsTs?: number;
  /** recent load1 samples, oldest first (bounded; for sparklines) */
  readonly loadHistory: readonly number[];
  /** set while the node is drained (NEXXUS:DRAIN) */
  readonly drain?: DrainInfo;
  /** its latest sensor readings and recent SEL records (bounded, names made safe) */
  readonly sensors?: NodeSensors;
}

export interface JobView {
  readonly id: number;
  readonly tag: string;
  readonly command: string;
  readonly line: string;
  readonly targets: readonly string[];
  readonly targetsFolded: string;
  readonly state: JobState;
  readonly dangerous: boolean;
  readonly lane: Lane;
  readonly done: number;
  readonly ok: number;
  readonly failed: number;
  /** nodes not run because they were known down or off (SKIPPED events) */
  readonly skipped?: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: { code: string; message: string };
  /** this job's events after JOB_STARTED (bounded; `truncated` counts the ones dropped) */
  readonly events: readonly VacmEvent[];
  readonly truncated: number;
  /** internal jobs (pollers) are not listed by NEXXUS:JOBS nor shown in the jobs pane */
  readonly quiet: boolean;
  /** who submitted it: the OS user for a local process, the serve user otherwise */
  readonly user?: string;
  /** the door of vacm serve it came through (absent: this process) */
  readonly origin?: JobOrigin;
}

export interface NodeOp {
  readonly node: string;
  /** the node's variables at the moment the operation starts (SET_VAR takes effect on the next use) */
  readonly vars: NodeVars;
  /** aborted on job cancel and on this operation's timeout */
  readonly signal: AbortSignal;
}

export interface ForEachNodeOptions {
  /** per-node operation timeout; on expiry the node gets ERR_TIMEOUT and counts as failed */
  timeoutMs?: number;
  /** cap on concurrent operations of this job (the bulk lane's fanout applies as well) */
  concurrency?: number;
  /** message for the timeout error */
  timeoutMessage?: string;
}

export interface JobContext {
  readonly id: number;
  readonly request: Request;
  /** resolved targets in nodelist order ([] for commands without a node set) */
  readonly nodes: readonly string[];
  /** arguments by name */
  readonly args: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly host: ModuleHost;
  /** who submitted the job through which door of vacm serve (absent: this process) */
  readonly origin?: JobOrigin;
  emit(body: EventBody): void;
  /**
   * Run `op` for every node: in the bulk lane through the engine-wide fanout (round-robin between
   * jobs), in the control lane at once. Errors and timeouts become per-node ERROR events; the
   * returned value ('ok' by default) is the node's outcome. Never rejects.
   */
  forEachNode(nodes: readonly string[], op: (n: NodeOp) => Promise<NodeOutcome | void>, opts?: ForEachNodeOptions): Promise<void>;
  /** record an outcome for something not run through forEachNode (counted in JOB_COMPLETED) */
  outcome(key: string, result: NodeOutcome): void;
  /** who the job runs for (SubmitOptions.user: serve's authenticated user; else the OS user) */
  readonly user?: string;
}

export interface SubmitOptions {
  /** internal job: not listed in JOBS or the jobs pane, not audited unless dangerous */
  quiet?: boolean;
  /** who asked (for the audit log); defaults to the OS user */
  user?: string;
  /** who asked through which door of `vacm serve`: roles are enforced on it (absent: the local process, unrestricted) */
  origin?: JobOrigin;
}

export type Role = 'viewer' | 'operator' | 'admin';

/** Who submitted a job and through which door (vacm serve); the audit record and NEXXUS:JOBS carry it. */
export interface JobOrigin {
  readonly user: string;
  readonly role: Role;
  /** ssh: the TCP front door; socket: the local socket (the same SSH protocol) */
  readonly door: 'ssh' | 'socket';
  /** source address:port (ssh), `local` (socket) */
  readonly addr: string;
  /** the SHA256 fingerprint of the key the user logged in with */
  readonly key: string;
  /** the session's id (NEXXUS:WHO), for its limit of jobs in flight */
  readonly session: number;
  /** jobs in flight this session may have (serve.max_jobs_per_session) */
  readonly maxJobs?: number;
}

/** An attached session as NEXXUS:WHO lists it. */
export interface SessionView {
  readonly id: number;
  readonly user: string;
  readonly role: Role;
  readonly door: 'ssh' | 'socket';
  readonly addr: string;
  readonly key: string;
  /** shell, exec, vacm (the subsystem) */
  readonly kind: string;
  readonly since: number;
}

export interface JobHandle {
  readonly id: number;
  /** resolves with the final view when the terminal event has been emitted */
  readonly done: Promise<JobView>;
  cancel(): void;
}

export interface ConfigView {
  readonly cluster: string;
  readonly fanout: number;
  readonly source?: string;
  /** exec.allow: word patterns, `*` (anything) or `{shell: "..."}` (exact text); see shell-words.ts */
  readonly exec: {
    readonly allow: readonly ExecAllowEntry[];
    /** exec.safe: commands (same patterns, `*` refused) that change nothing: no confirmation, allowed read-only */
    readonly safe?: readonly ExecAllowEntry[];
    /** exec.skip_states: node states a skipKnownDown command does not run on (default down, off) */
    readonly skipStates?: readonly NodeState[];
  };
  /** other top-level sections (power, ssh, sysstat, collector, ...), validated by the modules that own them */
  readonly sections: Readonly<Record<string, unknown>>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** actions: the dashboard's custom actions (docs/config.md) */
  readonly actions?: readonly CustomAction[];
  /** limits.max_nodes: the most names a node set is expanded to (DEFAULT_MAX_NODES when absent) */
  readonly maxNodes?: number;
}

/** The engine as modules see it. */
export interface ModuleHost {
  readonly config: ConfigView;
  readonly stateDir: string;
  readonly readOnly: boolean;
  /** run pollers and heartbeats: the dashboard and `vacm serve` do, one-shot `vacm ipc` does not */
  readonly monitor: boolean;
  /** name of the machine vacm runs on */
  readonly localName: string;
  nodes(): readonly NodeView[];
  node(name: string): NodeView | undefined;
  vars(node: string): NodeVars;
  /** resolve a node-set expression against the nodelist (throws ERR_NODESET_PARSE / ERR_NO_SUCH_NODE) */
  resolve(expr: string): string[];
  groups(): Readonly<Record<string, readonly string[]>>;
  setVar(node: string, key: string, value: string): void;
  unsetVar(node: string, key: string): boolean;
  /** called after a variable changes (SET_VAR, UNSET_VAR); returns an unsubscribe function */
  onVarChange(cb: (node: string, key: string, value: string | undefined) => void): () => void;
  /** add a node at run time (NEXXUS:ADOPT of a discovered host); ERR_BAD_ARGS when it exists */
  addNode(def: { name: string; groups?: readonly string[]; vars?: Readonly<Record<string, string>> }): NodeView;
  /** membership evidence from pollers and heartbeats */
  setNodeState(node: string, state: NodeState, reason?: string): void;
  setPower(node: string, power: PowerState): void;
  recordStats(node: string, stats: Readonly<Record<string, StatValue>>, ts?: number): void;
  /** job 0 message (node up/down, discovery, stray errors) */
  emitUnsolicited(tag: string, body: EventBody): void;
  submit(line: string, opts?: SubmitOptions): JobHandle;
  /** what became of each node of a job while it is kept: ok, failed, or skipped as known down */
  jobOutcomes?(id: number): ReadonlyMap<string, 'ok' | 'failed' | 'skipped'> | undefined;
  modules(): readonly ModuleDef[];
  jobs(): readonly JobView[];
  /** sessions attached to vacm serve (NEXXUS:WHO); none in a process without a serve */
  sessions?(): readonly SessionView[];
  cancel(id: number): boolean;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /**
   * Add an entry to the events timeline (docs/events.md): `node` a node name or a folded set
   * (undefined: about no node); `text` one line for people (escaped and bounded here); `fields` a
   * few facts for scripts. Never throws: a timeline that cannot be written is logged, not fatal.
   */
  record?(kind: TimelineKind, node: string | undefined, text: string, fields?: TimelineFields): void;
  /** the timeline's entries, oldest first (NEXXUS:EVENTS) */
  timeline?(q: TimelineQuery): readonly TimelineEntry[];
  /** drain the nodes (kept in the state dir); throws ERR_BAD_ARGS for a bad reason, ERR_STATE_DIR when it cannot be kept */
  drain?(nodes: readonly string[], reason: string, who: string): DrainInfo;
  /** undrain the nodes; returns those that were drained */
  undrain?(nodes: readonly string[], who: string): string[];
}

export interface CommandDef extends CommandShape {
  readonly name: string;
  readonly summary: string;
  readonly lane: Lane;
  /** changes something: audited before and after, confirmed in the UI, refused in read-only mode */
  readonly dangerous: boolean | ((req: Request) => boolean);
  /**
   * the node set names hosts that are not (yet) in the nodelist (NEXXUS:ADOPT): the engine does not
   * resolve it, `ctx.nodes` is empty and the command reads `ctx.request.nodes` itself
   */
  readonly outsideNodelist?: boolean;
  /**
   * nodes whose state is in exec.skip_states are not run: each gets a SKIPPED event at once and
   * counts neither ok nor failed, unless the request names it one by one (SSH:EXEC, SYSSTAT:GET)
   */
  readonly skipKnownDown?: boolean;
  /**
   * a dangerous command reaches a drained node through a group, range or wildcard only when the
   * request ends in :FORCE; this one always does (UNDRAIN, DRAIN again with a new reason)
   */
  readonly reachesDrained?: boolean;
  /** the command adds its own timeline entries (DRAIN): the engine adds none for the job */
  readonly recordsItself?: boolean;
  /** a deadline for the whole job; the engine aborts and fails it with ERR_TIMEOUT after this */
  readonly jobTimeoutMs?: number;
  /** check before auditing or running (e.g. an allowlist); throw a VacmError to refuse the whole job */
  validate?(req: Request, nodes: readonly string[], host: ModuleHost): void;
  /**
   * asynchronous checks after validate and before the audit's attempt record (SSH:PUSH hashes its
   * source here); what it returns is recorded as `detail` in the attempt and outcome records. A throw
   * refuses the whole job as validate's does.
   */
  prepare?(req: Request, nodes: readonly string[], host: ModuleHost, signal: AbortSignal): Promise<Readonly<Record<string, string>> | void>;
  run(ctx: JobContext): Promise<void> | AsyncIterable<EventBody>;
}

export interface ModuleDef {
  readonly tag: string;
  readonly summary: string;
  readonly commands: readonly CommandDef[];
  /** how this module's results gather in the dashboard (gather.ts ResultGathering); by whole line when absent */
  readonly gather?: ResultGathering;
  /**
   * what this module's events mean for the store (node-facts.ts): per event type, the fact it
   * tells about its node; the engine applies it to the events of this module's jobs and to its
   * unsolicited ones. Events of a type not listed change no node.
   */
  readonly facts?: EventFacts;
  /** called once when the engine starts (pollers, pools); may throw ERR_CONFIG */
  init?(host: ModuleHost): void | Promise<void>;
  /** release sockets, processes and timers */
  dispose?(): void | Promise<void>;
  /** the node's last console lines, oldest first (the black box of a NODE_DOWN record); undefined when it keeps none */
  lastConsoleLines?(node: string, count: number): readonly string[] | undefined;
}

export function isDangerous(cmd: CommandDef, req: Request): boolean {
  return typeof cmd.dangerous === 'function' ? cmd.dangerous(req) : cmd.dangerous;
}
