/**
 * What the dashboard needs from the engine, and nothing more: the store (snapshot + subscribe),
 * submit/cancel of IPC strings, a dry-run check of a request, node-set resolution for the filter,
 * and the registry's names for completion. `uiEngineOf` adapts the real Engine.
 */
import type { Engine } from '../engine/engine.js';
import type { Snapshot } from '../engine/store.js';
import { isDangerous } from '../protocol/module.js';
import type { CustomAction } from '../protocol/actions.js';
import { toVacmError } from '../protocol/errors.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { guardedBecause, powerCapability, type GuardReason, type PowerActionName, type PowerDriverName, type ThisMachine } from '../protocol/power.js';

export type { Snapshot };

export interface CommandInfo {
  readonly name: string;
  readonly summary: string;
}

export interface ModuleInfo {
  readonly tag: string;
  readonly commands: readonly CommandInfo[];
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

export interface UiEngine {
  getSnapshot(): Snapshot;
  /** the store's change notifications (at most one per tick) */
  subscribe(listener: () => void): () => void;
  /** submit an IPC string; throws a VacmError when it cannot run */
  submit(line: string): { id: number };
  cancel(id: number): boolean;
  /** parse and resolve without running: what the confirmation and the prompt's inline errors need */
  check(line: string): CheckResult;
  /** resolve a node set against the nodelist and groups (throws ERR_NODESET_PARSE / ERR_NO_SUCH_NODE) */
  resolve(expr: string): string[];
  /** the power driver and guard of each named node (unknown names are left out) */
  powerFacts(names: readonly string[]): PowerFacts[];
  readonly registry: { modules(): readonly ModuleInfo[]; groups(): readonly string[] };
  readonly readOnly: boolean;
  /** the config's custom actions (actions: in vacm.yaml) */
  readonly actions?: readonly CustomAction[];
}

/** `thisMachine` (from the CLI, which may read the OS) lets the guard judge `host` and `bmc_host` as POWER does. */
export function uiEngineOf(engine: Engine, opts: { thisMachine?: () => ThisMachine } = {}): UiEngine {
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
      modules: () => engine.registry.list().map((m) => ({ tag: m.tag, commands: m.commands.map((c) => ({ name: c.name, summary: c.summary })) })),
      groups: () => Object.keys(engine.groups()).sort(),
    },
    readOnly: engine.readOnly,
    actions: engine.config.actions ?? [],
  };
}
