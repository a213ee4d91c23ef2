/**
 * SIM: the simulated nodes' "agent". Nodes with `sim: true` join the SimCluster at start; once a
 * second it moves their loads and reports stats, state and power to the engine, as an agent would.
 * The other modules answer for sim nodes through the same SimCluster, by the capabilities in
 * capabilities.ts and power-driver.ts, which src/backends/providers.ts hands them.
 */
import type { CommandDef, ModuleDef, ModuleHost } from '../../protocol/module.js';
import { VacmError } from '../../protocol/errors.js';
import { SimCluster } from './cluster.js';
import { isSimNode } from '../../protocol/vars.js';

export function createSimModule(sim: SimCluster, opts: { intervalMs?: number } = {}): ModuleDef {
  let timer: NodeJS.Timeout | undefined;
  const intervalMs = opts.intervalMs ?? 1000;

  const report = (host: ModuleHost) => {
    sim.tick();
    for (const name of sim.names()) {
      const n = sim.get(name);
      host.setPower(name, n.power);
      if (n.power === 'off') continue;
      if (n.up) {
        host.setNodeState(name, 'up');
        const s = sim.stats(name);
        if (s) host.recordStats(name, s);
      } else {
        host.setNodeState(name, 'down', n.bootingUntil !== undefined ? 'booting' : 'no heartbeat (simulated failure)');
      }
    }
  };

  const simNodes = (ctx: { nodes: readonly string[] }) => {
    const bad = ctx.nodes.filter((n) => !sim.has(n));
    if (bad.length) throw new VacmError('ERR_UNSUPPORTED', `not simulated nodes: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', ...' : ''}`);
    return ctx.nodes;
  };

  const commands: CommandDef[] = [
    {
      name: 'FAIL', summary: 'make simulated nodes fail (they come back after a while, or with RECOVER)', nodes: 'required',
      args: [{ name: 'seconds', optional: true }], lane: 'control', dangerous: true,
      async run(ctx) {
        const ms = ctx.args.seconds ? Number(ctx.args.seconds) * 1000 : undefined;
        if (ms !== undefined && !(ms >= 0)) throw new VacmError('ERR_BAD_ARGS', `seconds must be a number, not "${ctx.args.seconds}"`);
        for (const n of simNodes(ctx)) {
          sim.fail(n, ms);
          ctx.outcome(n, 'ok');
        }
        report(ctx.host);
      },
    },
    {
      // puts a simulated fault right: nothing real changes and nothing is lost, so it never asks
      name: 'RECOVER', summary: 'bring failed simulated nodes back', nodes: 'required', args: [], lane: 'control', dangerous: false,
      async run(ctx) {
        for (const n of simNodes(ctx)) {
          sim.recover(n);
          ctx.outcome(n, 'ok');
        }
        report(ctx.host);
      },
    },
  ];

  return {
    tag: 'SIM',
    summary: 'simulated nodes for --demo and tests: loads that drift, failures, power, exec',
    commands,
    init(host) {
      for (const n of host.nodes()) if (isSimNode(n.vars) && !sim.has(n.name)) sim.add(n.name);
      if (sim.names().length === 0) return;
      report(host);
      timer = setInterval(() => report(host), intervalMs);
      timer.unref();
    },
    dispose() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
