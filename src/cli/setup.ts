/**
 * Building an engine from the command line's options: config, demo nodes, state dir, modules. The
 * one place an engine is made and started, for every path (the dashboard, ipc, console, snapshot,
 * and `vacm serve`, which adds its load history and job-id sequence).
 */
import { Engine, type EngineOptions, type Logger } from '../engine/engine.js';
import { findConfig, loadConfigFile, localOnlyConfig, type LoadedConfig } from '../engine/config.js';
import { builtinModules } from '../backends/index.js';
import { demoNodeDefs } from '../backends/sim/cluster.js';
import { checkWholeNumber } from './options.js';
import { CONFIG_SECTIONS } from './config-sections.js';

export interface EngineArgs {
  config?: string;
  demo?: boolean;
  /** how many simulated nodes --demo adds (default 64) */
  nodes?: number;
  readOnly?: boolean;
  stateDir?: string;
  /** run pollers and heartbeats (the dashboard and serve) */
  monitor?: boolean;
}

export const DEFAULT_DEMO_NODES = 64;
/** --demo --nodes at most this many (each simulated node has its own state and timers) */
export const MAX_DEMO_NODES = 100_000;

export function loadConfig(args: EngineArgs): LoadedConfig {
  const count = checkWholeNumber('--nodes', args.nodes, 1, MAX_DEMO_NODES) ?? DEFAULT_DEMO_NODES;
  const file = findConfig(args.config);
  const cfg = file ? loadConfigFile(file, CONFIG_SECTIONS) : localOnlyConfig();
  if (!args.demo) return cfg;
  const known = new Set(cfg.nodes.map((n) => n.name));
  const demo = demoNodeDefs(count).filter((d) => !known.has(d.name));
  const groups: Record<string, readonly string[]> = Object.assign(Object.create(null), cfg.view.groups);
  for (const d of demo) for (const g of d.groups) groups[g] = [...(groups[g] ?? []), d.name];
  return {
    view: { ...cfg.view, cluster: file ? cfg.view.cluster : 'demo', groups },
    nodes: [...cfg.nodes, ...demo],
  };
}

export async function openEngine(args: EngineArgs, log?: Logger): Promise<Engine> {
  return startEngine(loadConfig(args), args, { log });
}

/** What only some paths add to an engine (serve: its history and job ids carried across restarts). */
export type EngineExtras = Pick<EngineOptions, 'log' | 'history' | 'jobIds'>;

/**
 * An engine of `config` with the built-in modules, started; when its start fails, what did start (a
 * socket, a poller) is released before the error is passed on.
 */
export async function startEngine(config: LoadedConfig, args: EngineArgs, extras: EngineExtras = {}): Promise<Engine> {
  const engine = new Engine({ config, modules: builtinModules(), readOnly: args.readOnly, monitor: args.monitor, stateDir: args.stateDir, ...extras });
  try {
    await engine.start();
  } catch (err) {
    await engine.stop().catch(() => undefined);
    throw err;
  }
  return engine;
}
