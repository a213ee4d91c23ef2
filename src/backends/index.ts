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
import { createIcmpModule } from './icmp/module.js';
import { createSysstatModule } from './sysstat/module.js';
import { createCollectorModule } from './collector/module.js';
import { createMetricsModule } from './metrics/module.js';

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
  const collector = createCollectorModule();
  return {
    sim,
    modules: [
      nexxusModule,
      createSimModule(sim),
      ...createPowerModules({ sim }),
      createIcmpModule({ sim }),
      // remote: the SSH pool (ssh branch) is wired here at merge; until then remote SYSSTAT is ERR_UNSUPPORTED
      createSysstatModule({ sim, remote: undefined }),
      collector,
      createMetricsModule({ collector: collector.counters }),
    ],
  };
}

export function builtinModules(opts: ModuleOptions = {}): ModuleDef[] {
  return createBackends(opts).modules;
}
