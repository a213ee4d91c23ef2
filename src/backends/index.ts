/**
 * The one registry of built-in modules. A new module is one file (or folder) under src/backends/
 * and one line here. Shared capabilities (the simulated cluster, the SSH pool) are made here
 * and handed to the modules that use them; which of them reaches each node is the Providers'
 * choice (providers.ts), the one place a simulated node is told from a real one.
 */
import type { ModuleDef } from '../protocol/module.js';
import { nexxusModule } from './nexxus.js';
import { SimCluster } from './sim/cluster.js';
import { createSimModule } from './sim/module.js';
import { createProviders } from './providers.js';
import type { Providers } from './capabilities.js';
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
  /** how each node is reached: the simulated capabilities for `sim: true` nodes, else the real ones */
  providers: Providers;
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
  const providers = createProviders(sim);
  const collector = createCollectorModule();
  const sensors = createSensorsModule({ providers }); // SEL and POWER share its IPMI client (warm sessions) and SDR cache
  const consoles = createConsoleModule();
  return {
    sim,
    providers,
    ssh,
    modules: [
      nexxusModule,
      createSimModule(sim),
      createSshModule({ pool: ssh, providers, files: ssh }),
      ...createPowerModules({ providers, executor: ssh, ipmi: { shared: sensors.client } }),
      createIcmpModule({ providers }),
      createSysstatModule({ providers, remote: ssh }),
      collector,
      createMetricsModule({ collector: collector.counters }),
      sensors,
      createSelModule({ client: sensors.client, cache: sensors.cache }),
      rolloutModule,
      consoles,
      createLogModule({ pool: ssh, providers }),
    ],
    consoles: () => consoles.hub(),
    dispose: () => ssh.close(),
  };
}

export function builtinModules(opts: ModuleOptions = {}): ModuleDef[] {
  return createBackends(opts).modules;
}
