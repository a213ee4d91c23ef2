/**
 * What the dashboard needs from the engine, and nothing more: the store (snapshot + subscribe),
 * submit/cancel of IPC strings, a dry-run check of a request, node-set resolution for the filter,
 * and the registry's names for completion. `uiEngineOf` adapts the real Engine.
 */
import type { Engine } from '../engine/engine.js';
import type { Snapshot } from '../engine/store.js';
import { isDangerous } from '../protocol/module.js';
import { toVacmError } from '../protocol/errors.js';
import { foldNodeSet } from '../protocol/nodeset.js';

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
  | { ok: true; line: string; label: string; dangerous: boolean; targets: number; folded: string }
  | { ok: false; code: string; message: string };

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
  readonly registry: { modules(): readonly ModuleInfo[]; groups(): readonly string[] };
  readonly readOnly: boolean;
}

export function uiEngineOf(engine: Engine): UiEngine {
  return {
    getSnapshot: () => engine.store.getSnapshot(),
    subscribe: (l) => engine.store.subscribe(l),
    submit: (line) => ({ id: engine.submit(line).id }),
    cancel: (id) => engine.cancel(id),
    check(line) {
      try {
        const { req, cmd, targets } = engine.prepare(line);
        return { ok: true, line: req.line, label: `${req.tag}:${req.command}`, dangerous: isDangerous(cmd, req), targets: targets.length, folded: targets.length ? foldNodeSet(targets) : '' };
      } catch (err) {
        const ve = toVacmError(err, 'ERR_PROTO_PARSE');
        return { ok: false, code: ve.code, message: ve.message };
      }
    },
    resolve: (expr) => engine.resolve(expr),
    registry: {
      modules: () => engine.registry.list().map((m) => ({ tag: m.tag, commands: m.commands.map((c) => ({ name: c.name, summary: c.summary })) })),
      groups: () => Object.keys(engine.groups()).sort(),
    },
    readOnly: engine.readOnly,
  };
}
