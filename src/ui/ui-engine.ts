/**
 * What the dashboard needs from the engine, and nothing more: the store (snapshot + subscribe),
 * submit/cancel of IPC strings, a dry-run check of a request, node-set resolution for the filter,
 * and the registry's names for completion. `uiEngineOf` adapts the real Engine.
 */
import type { Engine } from '../engine/engine.js';
import type { Snapshot } from '../engine/store.js';
import { FINE_SPAN_S } from '../engine/history.js';
import type { ResultGathering } from '../protocol/gather.js';
import { isDangerous } from '../protocol/module.js';
import type { CustomAction } from '../protocol/actions.js';
import { toVacmError } from '../protocol/errors.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { isSimNode } from '../protocol/vars.js';
import type { TimelineEntry } from '../protocol/timeline.js';
import { guardedBecause, powerCapability, type GuardReason, type PowerActionName, type PowerDriverName, type ThisMachine } from '../protocol/power.js';

export type { Snapshot, TimelineEntry };

export interface CommandInfo {
  readonly name: string;
  readonly summary: string;
}

export interface ModuleInfo {
  readonly tag: string;
  readonly commands: readonly CommandInfo[];
  /** how its results gather in the jobs pane (the module's declaration) */
  readonly gather?: ResultGathering;
}

export type CheckResult =
  | { ok: true; line: string; label: string; dangerous: boolean; targets: number; folded: string; tag: string; command: string; names: readonly string[]; args: Readonly<Record<string, string>> }
  | { ok: false; code: string; message: string };

/** What POWER can do to a node and whether the controller guard protects it (the engine's own rules). */
export interface PowerFacts {
  readonly name: string;
  readonly driver?: PowerDriverName;
  readonly actions: readonly PowerActionName[];
  /** why the node has no power actions */
  readonly noDriver?: string;
  /** why the guard refuses OFF/CYCLE/RESET/SOFT without FORCE */
  readonly guard?: GuardReason;
}

/** What a serial console says, as the dashboard's console screen shows it. */
export type UiConsoleEvent =
  | { kind: 'line'; text: string; partial: boolean }
  | { kind: 'state'; message: string }
  | { kind: 'role'; readOnly: boolean };

/** A node's serial console, opened for a person (the CLI adapts the engine's console hub). */
export interface UiConsole {
  readonly node: string;
  /** another operator types on it (or vacm runs read-only): watch only */
  readonly readOnly: boolean;
  /** the lines kept before it was opened, oldest first */
  backlog(): readonly string[];
  listen(fn: (e: UiConsoleEvent) => void): () => void;
  /** throws a VacmError (ERR_CONSOLE_BUSY when read-only) */
  write(text: string): void;
  sendBreak(): void;
  close(): Promise<void>;
}

export type ConsoleOpener = (node: string, opts: { force?: boolean }) => Promise<UiConsole>;

/** How the system ssh of the `S` key ended. */
export interface ShellOutcome {
  code: number;
  signal?: string;
}

/** The system ssh to a node on this terminal (the CLI hands the terminal over and takes it back). */
export interface ShellRunner {
  /** throws a VacmError saying why no shell opens on `node` (simulated, hostile host, no SSH) */
  check(node: string): void;
  /** run it; resolves when ssh exits, rejects with a VacmError when it cannot start */
  run(node: string): Promise<ShellOutcome>;
}

/** One line a job's node printed (OUTPUT), or what became of the node (`note`: its EXIT or ERROR), as the log view receives it. */
export interface UiOutputLine {
  node: string;
  stream: 'stdout' | 'stderr' | 'note';
  line: string;
}

export interface UiEngine {
  getSnapshot(): Snapshot;
  /** the store's change notifications (at most one per tick) */
  subscribe(listener: () => void): () => void;
  /** submit an IPC string; throws a VacmError when it cannot run (attached to a serve: the id, or the refusal, comes later) */
  submit(line: string): { id: number } | Promise<{ id: number }>;
  cancel(id: number): boolean;
  /** parse and resolve without running: what the confirmation and the prompt's inline errors need */
  check(line: string): CheckResult;
  /** resolve a node set against the nodelist and groups (throws ERR_NODESET_PARSE / ERR_NO_SUCH_NODE) */
  resolve(expr: string): string[];
  /**
   * A node's load over the last `spanMs` from the engine's history (the 1 h fine ring up to an hour,
   * the 24 h one-minute ring beyond): what the detail pane's chart draws. An in-memory query, no I/O.
   */
  loadSeries(name: string, spanMs: number, now?: number): { ts: readonly number[]; values: readonly number[] };
  /** what became of each node of a job so far (ok, failed, skipped); undefined once the job is forgotten */
  jobOutcomes(id: number): ReadonlyMap<string, 'ok' | 'failed' | 'skipped'> | undefined;
  /**
   * How many users are logged in on each of `names`, for a confirmation's blast radius: the engine
   * runs `SSH:USERS` (`who` over the warm SSH pool) as a quiet job bounded by `timeoutMs`; nodes
   * that are simulated, known down, or did not answer in time are left out of the map.
   */
  usersLoggedIn(names: readonly string[], timeoutMs?: number): Promise<ReadonlyMap<string, number>>;
  /** the power driver and guard of each named node (unknown names are left out) */
  powerFacts(names: readonly string[]): PowerFacts[];
  readonly registry: { modules(): readonly ModuleInfo[]; groups(): readonly string[] };
  readonly readOnly: boolean;
  /** the events timeline's newest entries in memory (of these nodes), oldest first; no I/O */
  events?(q?: { nodes?: readonly string[] }): readonly TimelineEntry[];
  /** open a node's serial console (the `c` key); absent when this engine has no consoles */
  openConsole?: ConsoleOpener;
  /** the system ssh to a node on this terminal (the `S` key); absent where there is no terminal to hand over */
  runShell?: ShellRunner;
  /** the OUTPUT lines of job `id` as they arrive, and its nodes' EXIT and ERROR as notes (the log view of `L`); returns the unsubscribe */
  watchOutput?(id: number, fn: (l: UiOutputLine) => void): () => void;
  /** the config's custom actions (actions: in vacm.yaml) */
  readonly actions?: readonly CustomAction[];
  /** attached to a vacm serve: where, as whom, and whether the link is up (the header shows it) */
  readonly attached?: AttachedView;
  /** attached: the nodes in sight, whose load and stats the serve should send (the others: state only) */
  view?(names: readonly string[]): void;
}

export interface AttachedView {
  readonly host: string;
  readonly user: string;
  readonly role: string;
  readonly link: 'up' | 'reconnecting';
  readonly detail?: string;
}

/** `thisMachine` (from the CLI, which may read the OS) lets the guard judge `host` and `bmc_host` as POWER does. */
export function uiEngineOf(engine: Engine, opts: { thisMachine?: () => ThisMachine; consoles?: ConsoleOpener; shell?: ShellRunner } = {}): UiEngine {
  let self: ThisMachine | undefined;
  return {
    getSnapshot: () => engine.store.getSnapshot(),
    subscribe: (l) => engine.store.subscribe(l),
    submit: (line) => ({ id: engine.submit(line).id }),
    cancel: (id) => engine.cancel(id),
    check(line) {
      try {
        const { req, cmd, targets } = engine.prepare(line);
        return { ok: true, line: req.line, label: `${req.tag}:${req.command}`, dangerous: isDangerous(cmd, req), targets: targets.length, folded: targets.length ? foldNodeSet(targets) : '', tag: req.tag, command: req.command, names: targets, args: req.named };
      } catch (err) {
        const ve = toVacmError(err, 'ERR_PROTO_PARSE');
        return { ok: false, code: ve.code, message: ve.message };
      }
    },
    resolve: (expr) => engine.resolve(expr),
    jobOutcomes: (id) => engine.jobOutcomes(id),
    async usersLoggedIn(names, timeoutMs = 2000) {
      const out = new Map<string, number>();
      // simulated nodes have no SSH (SSH:USERS skips them too): not asking spares a job, and its job number
      const ask = names.filter((n) => engine.node(n) !== undefined && !isSimNode(engine.vars(n)));
      if (ask.length === 0 || !engine.registry.list().some((m) => m.tag === 'SSH')) return out;
      let id = -1;
      const early: { job: number; node: string; line: string }[] = [];
      const off = engine.subscribe((e) => {
        if (e.type !== 'OUTPUT' || e.stream !== 'stdout') return;
        if (id === -1) early.push({ job: e.job, node: e.node, line: e.line });
        else if (e.job === id) take(e.node, e.line);
      });
      const take = (node: string, line: string) => {
        const m = /^users=(\d{1,6})$/.exec(line);
        if (m) out.set(node, Number(m[1]));
      };
      try {
        const h = engine.submit(`SSH:USERS:${foldNodeSet(ask)}:${Math.max(1, Math.min(60_000, Math.round(timeoutMs)))}`, { quiet: true });
        id = h.id;
        // the job's own events before its id was known (none in practice: it starts on a later tick)
        for (const x of early) if (x.job === id) take(x.node, x.line);
        // bounded twice: the command's timeout per node, and this one for the whole job (a queue behind other jobs)
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((res) => { timer = setTimeout(() => { h.cancel(); res(); }, timeoutMs + 1000); });
        await Promise.race([h.done.then(() => undefined, () => undefined), late]);
        clearTimeout(timer);
      } catch {
        // no SSH:USERS here, or the engine is stopping: no count
      } finally {
        off();
      }
      return out;
    },
    loadSeries(name, spanMs, now = Date.now()) {
      const s = engine.history.query([name], now - spanMs, now, spanMs <= FINE_SPAN_S * 1000 ? 'fine' : 'coarse').get(name);
      return { ts: s?.ts ?? [], values: s?.values.load1 ?? [] };
    },
    powerFacts(names) {
      self ??= opts.thisMachine?.();
      const out: PowerFacts[] = [];
      for (const name of names) {
        const node = engine.node(name);
        if (!node) continue;
        // the raw variables, read here and never shown: only power, controller, host and bmc_host matter
        const vars = engine.vars(name);
        const cap = powerCapability(vars);
        out.push({ name, driver: cap.driver, actions: cap.actions, noDriver: cap.reason, guard: guardedBecause({ name, vars, local: node.local }, engine.localName, self) });
      }
      return out;
    },
    registry: {
      modules: () => engine.registry.list().map((m) => ({ tag: m.tag, commands: m.commands.map((c) => ({ name: c.name, summary: c.summary })), gather: m.gather })),
      // `@drained` completes like a group (a group of that name is the same word)
      groups: () => [...new Set([...Object.keys(engine.groups()), 'drained'])].sort(),
    },
    readOnly: engine.readOnly,
    events: (q) => engine.recentEvents(q ?? {}),
    openConsole: opts.consoles,
    runShell: opts.shell,
    watchOutput: (id, fn) => engine.subscribe((e) => {
      if (e.job !== id) return;
      if (e.type === 'OUTPUT') fn({ node: e.node, stream: e.stream, line: e.line });
      else if (e.type === 'EXIT') fn({ node: e.node, stream: 'note', line: e.signal ? `ended (signal ${e.signal})` : `ended (exit ${e.code})` });
      else if (e.type === 'ERROR') fn({ node: e.node ?? '', stream: 'note', line: `${e.code}: ${e.message}` });
    }),
    actions: engine.config.actions ?? [],
  };
}
