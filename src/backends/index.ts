/**
 * The one registry of built-in modules. A new module is one file (or folder) under src/backends/
 * and one line here. Shared capabilities (the simulated cluster, later the SSH pool) are made here
 * and handed to the modules that use them.
 */
import type { ModuleDef } from '../protocol/module.js';
import { nexxusModule } from './nexxus.js';
import { SimCluster } from './sim/cluster.js';
import { createSimModule } from './sim/module.js';
import { createPowerModules } from './power/module.js';

export interface ModuleOptions {
  /** seed of the simulated cluster (the demo and tests) */
  simSeed?: number;
}

export interface Backends {
  modules: ModuleDef[];
  sim: SimCluster;
}

export function createBackends(opts: ModuleOptions = {}): Backends {
  const sim = new SimCluster({ seed: opts.simSeed });
  return {
    sim,
    modules: [nexxusModule, createSimModule(sim), ...createPowerModules({ sim })],
  };
}

export function builtinModules(opts: ModuleOptions = {}): ModuleDef[] {
  return createBackends(opts).modules;
}
