/**
 * The module (backend) contract: a module is one object `{ tag, commands }`, registered by tag.
 * These are types only; the engine implements JobContext and ModuleHost. Backends import this
 * file (and the rest of protocol/), never the engine.
 */
import type { CommandShape, Request } from './ipc.js';
import type { EventBody, Lane, NodeState, PowerState, StatValue, VacmEvent, JobState } from './events.js';
import type { ExecAllowEntry } from './shell-words.js';
import type { CustomAction } from './actions.js';

export type NodeVars = Readonly<Record<string, string>>;
export type NodeOutcome = 'ok' | 'failed';

/** One node as the engine's store holds it: an immutable snapshot. */
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
  emit(body: EventBody): void;
  /**
   * Run `op` for every node: in the bulk lane through the engine-wide fanout (round-robin between
   * jobs), in the control lane at once. Errors and timeouts become per-node ERROR events; the
   * returned value ('ok' by default) is the node's outcome. Never rejects.
   */
  forEachNode(nodes: readonly string[], op: (n: NodeOp) => Promise<NodeOutcome | void>, opts?: ForEachNodeOptions): Promise<void>;
  /** record an outcome for something not run through forEachNode (counted in JOB_COMPLETED) */
  outcome(key: string, result: NodeOutcome): void;
}

export interface SubmitOptions {
  /** internal job: not listed in JOBS or the jobs pane, not audited unless dangerous */
  quiet?: boolean;
  /** who asked (for the audit log); defaults to the OS user */
  user?: string;
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
  cancel(id: number): boolean;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
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
  /** a deadline for the whole job; the engine aborts and fails it with ERR_TIMEOUT after this */
  readonly jobTimeoutMs?: number;
  /** check before auditing or running (e.g. an allowlist); throw a VacmError to refuse the whole job */
  validate?(req: Request, nodes: readonly string[], host: ModuleHost): void;
  run(ctx: JobContext): Promise<void> | AsyncIterable<EventBody>;
}

export interface ModuleDef {
  readonly tag: string;
  readonly summary: string;
  readonly commands: readonly CommandDef[];
  /** called once when the engine starts (pollers, pools); may throw ERR_CONFIG */
  init?(host: ModuleHost): void | Promise<void>;
  /** release sockets, processes and timers */
  dispose?(): void | Promise<void>;
}

export function isDangerous(cmd: CommandDef, req: Request): boolean {
  return typeof cmd.dangerous === 'function' ? cmd.dangerous(req) : cmd.dangerous;
}
