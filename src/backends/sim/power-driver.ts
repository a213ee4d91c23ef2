/** `power: sim` — the SimCluster's power switch, with its realistic delays (demo and tests). */
import type { PowerDriver } from '../capabilities.js';
import type { SimCluster } from './cluster.js';

export function createSimDriver(sim: SimCluster): PowerDriver {
  return {
    name: 'sim',
    actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'],
    async run(action, nodes, { signal, report }) {
      await Promise.all(
        nodes.map(async ({ node }) => {
          // a node with `power: sim` but not `sim: true` gets a simulated switch of its own on first use
          if (!sim.has(node)) sim.add(node);
          try {
            report(node, await sim.power(node, action, signal));
          } catch (err) {
            report(node, err as Error);
          }
        }),
      );
    },
  };
}
