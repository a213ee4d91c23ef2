/** What shell completion completes from: the config's nodes and groups and the built-in modules. */
import { builtinModules } from '../backends/index.js';
import type { CompletionSource } from '../ui/complete.js';
import { loadConfig } from './setup.js';

export function loadSource(args: { config?: string; demo?: boolean; nodes?: number }): CompletionSource {
  const cfg = loadConfig(args);
  return {
    modules: builtinModules().map((m) => ({ tag: m.tag, commands: m.commands.map((c) => ({ name: c.name })) })),
    nodes: cfg.nodes.map((n) => n.name),
    groups: Object.keys(cfg.view.groups),
  };
}
