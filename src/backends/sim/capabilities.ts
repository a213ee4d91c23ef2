/**
 * The sim backend's capabilities: a pinger, a stats source and a shell that answer from the
 * SimCluster (its power driver is power-driver.ts). src/backends/providers.ts hands them to the
 * modules for `sim: true` nodes; the modules only see the capability interfaces.
 */
import { VacmError } from '../../protocol/errors.js';
import type { NodePinger, StatsSource, StreamingExecutor } from '../capabilities.js';
import type { SimCluster } from './cluster.js';

/** ICMP_ECHO:PING of a simulated node: its simulated round trip, or no reply while it is down. */
export function createSimPinger(sim: SimCluster): NodePinger {
  return {
    async ping(node) {
      if (!sim.has(node)) throw new VacmError('ERR_PING', `${node} is marked sim: true but is not in the simulated cluster`);
      const rtt = sim.ping(node);
      return rtt === undefined ? { state: 'down', reason: 'no reply (simulated node not answering)' } : { state: 'up', rttMs: rtt };
    },
  };
}

/** SYSSTAT:GET of a simulated node: the numbers the SIM module also reports. */
export function createSimStats(sim: SimCluster): StatsSource {
  return {
    async read(node) {
      const stats = sim.has(node) ? sim.stats(node) : undefined;
      if (!stats) throw new VacmError('ERR_STAT', `${node} is not answering (simulated node down or off)`);
      return stats;
    },
  };
}

/** SSH:EXEC on a simulated node: the few commands a tiny node knows; refused while it is down. */
export function createSimShell(sim: SimCluster): StreamingExecutor {
  return {
    async exec(node, _vars, command, { signal, onLine }) {
      const r = await sim.exec(node, command, signal);
      if (!r) throw new VacmError('ERR_SSH_REFUSED', 'connection refused (the simulated node is down)');
      for (const l of r.stdout) onLine('stdout', l);
      for (const l of r.stderr) onLine('stderr', l);
      return { code: r.code };
    },
  };
}
