/**
 * The one registry of built-in modules. A new module is one file (or folder) under src/backends/
 * and one line here. Shared capabilities (the simulated cluster, the SSH pool) are made here
 * and handed to the modules that use them.
 */
import type { ModuleDef } from '../protocol/module.js';
import { nexxusModule } from './nexxus.js';
import { SimCluster } from './sim/cluster.js';
import { createSimModule } from './sim/module.js';
import { SshPool } from './ssh/pool.js';
import { createSshModule } from './ssh/module.js';
import { createPowerModules } from './power/module.js';
import { createIcmpModule } from './icmp/module.js';
import { createSysstatModule } from './sysstat/module.js';
import { createCollectorModule } from './collector/module.js';
import { createMetricsModule } from './metrics/module.js';
import { createSensorsModule } from './sensors/module.js';
import { createSelModule } from './sel/module.js';
import { rolloutModule } from './rollout/module.js';
import { createConsoleModule } from './console/module.js';
import type { ConsoleHub } from './console/hub.js';
import { createLogModule } from './log/module.js';

export interface ModuleOptions {
  /** seed of the simulated cluster (the demo and tests) */
  simSeed?: number;
}

export interface Backends {
  modules: ModuleDef[];
  sim: SimCluster;
  /** the SSH connection pool: a RemoteExecutor for SYSSTAT, POWER's ssh driver and others */
  ssh: SshPool;
  /** the engine's serial consoles (the dashboard's `c`, `vacm console`), once the engine started */
  consoles(): ConsoleHub | undefined;
  /** close what the backends share (the SSH pool) */
  dispose(): Promise<void>;
}

export function createBackends(opts: ModuleOptions = {}): Backends {
  const sim = new SimCluster({ seed: opts.simSeed });
  const ssh = new SshPool();
  const collector = createCollectorModule();
  const sensors = createSensorsModule(); // SEL and POWER share its IPMI client (warm sessions) and SDR cache
  const consoles = createConsoleModule();
  return {
    sim,
    ssh,
    modules: [
      nexxusModule,
      createSimModule(sim),
      createSshModule({ pool: ssh, sim, files: ssh }),
      ...createPowerModules({ sim, executor: ssh, ipmi: { shared: sensors.client } }),
      createIcmpModule({ sim }),
      createSysstatModule({ sim, remote: ssh }),
      collector,
      createMetricsModule({ collector: collector.counters }),
      sensors,
      createSelModule({ client: sensors.client, cache: sensors.cache }),
      rolloutModule,
      consoles,
      createLogModule({ pool: ssh, sim }),
    ],
    consoles: () => consoles.hub(),
    dispose: () => ssh.close(),
  };
}

export function builtinModules(opts: ModuleOptions = {}): ModuleDef[] {
  return createBackends(opts).modules;
}
