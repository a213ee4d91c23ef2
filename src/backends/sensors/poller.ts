/**
 * The quiet sensors poller: every `intervalMs`, internal quiet jobs `SENSORS:GET:<nodes>` and
 * `SEL:POLL:<nodes>` for the nodes with a BMC (`bmc_host`); the timer, skipping and stopping are
 * QuietSweep's (src/backends/quiet-sweep.ts). What they emit reaches the store as any SENSORS job's
 * events do; SEL:POLL raises records added since the last poll as job-0 SEL events. Nodes that
 * report themselves (the simulated ones; the Providers say which) are left out; powered-off nodes
 * are not (their BMC still answers, and that is when its event log matters).
 */
import type { ModuleHost, NodeView } from '../../protocol/module.js';
import { REAL_PROVIDERS, type Providers } from '../capabilities.js';
import { QuietSweep, sweepNodeSet } from '../quiet-sweep.js';

export interface SensorsPollerOptions {
  intervalMs: number;
  /** also SEL:POLL (when the SEL module is there) */
  sel: boolean;
  /** which nodes report themselves (default: none) */
  providers?: Providers;
}

export function hasBmc(n: Pick<NodeView, 'name' | 'vars'>, providers: Providers = REAL_PROVIDERS): boolean {
  return (n.vars.bmc_host ?? '').trim() !== '' && !providers.of(n.name, n.vars).selfReporting;
}

export class SensorsPoller extends QuietSweep {
  constructor(host: ModuleHost, private readonly opts: SensorsPollerOptions) {
    super(host, opts.intervalMs, 'sensors poller');
  }

  /** the request lines of one sweep now ([] when no node has a BMC) */
  requests(): string[] {
    const all = this.host.nodes();
    const want = all.filter((n) => hasBmc(n, this.opts.providers));
    if (want.length === 0) return [];
    const set = sweepNodeSet(all, want);
    const lines = [`SENSORS:GET:${set}`];
    const selPoll = this.host.modules().some((m) => m.tag === 'SEL' && m.commands.some((c) => c.name === 'POLL'));
    if (this.opts.sel && selPoll) lines.push(`SEL:POLL:${set}`);
    return lines;
  }

  protected plan(): string[] {
    return this.requests();
  }
}
