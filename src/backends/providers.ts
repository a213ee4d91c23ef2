/**
 * The one place a node's capabilities are chosen. A node with `sim: true` is reached through the sim
 * backend's (src/backends/sim/capabilities.ts): its provider reports its state and stats, it is
 * pinged, read and run on in the SimCluster. Every other node gets none, so each module uses its real
 * way (fping or ping, systeminformation or /proc over SSH, the SSH pool). The modules never ask
 * whether a node is simulated: they ask the Providers.
 */
import { isSimNode } from '../protocol/vars.js';
import { REAL_NODE, type NodeCapabilities, type Providers } from './capabilities.js';
import type { SimCluster } from './sim/cluster.js';
import { createSimPinger, createSimShell, createSimStats } from './sim/capabilities.js';
import { createSimDriver } from './sim/power-driver.js';

export function createProviders(sim: SimCluster): Providers {
  const pinger = createSimPinger(sim);
  const stats = createSimStats(sim);
  const inCluster: NodeCapabilities = Object.freeze({ selfReporting: true, pinger, stats, shell: createSimShell(sim) });
  // `sim: true` set on a node after the SIM module started (it is not in the cluster): PING and GET say
  // so, while SSH tries it for real, as a node with a host to reach
  const outside: NodeCapabilities = Object.freeze({ selfReporting: true, pinger, stats });
  const power = createSimDriver(sim);
  return {
    of: (node, vars) => (!isSimNode(vars) ? REAL_NODE : sim.has(node) ? inCluster : outside),
    powerDriver: (name) => (name === 'sim' ? power : undefined),
  };
}
