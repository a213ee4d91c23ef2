/**
 * The quiet sensors poller: every `intervalMs`, internal quiet jobs `SENSORS:GET:<nodes>` and
 * `SEL:POLL:<nodes>` through the engine for the nodes with a BMC (`bmc_host`), so the reads go
 * through the bulk lane (round-robin with operator jobs, never starving them). What they emit
 * reaches the store as any SENSORS job's events do; SEL:POLL raises records added since the last
 * poll as job-0 SEL events. A tick that comes while the last sweep still runs is skipped. Simulated
 * nodes are left out; powered-off nodes are not (their BMC still answers, and that is when its
 * event log matters).
 */
import { escapeField } from '../../protocol/ipc.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import type { JobHandle, ModuleHost, NodeView } from '../../protocol/module.js';
import { isSimNode } from '../sim/module.js';

export interface SensorsPollerOptions {
  intervalMs: number;
  /** also SEL:POLL (when the SEL module is there) */
  sel: boolean;
}

export function hasBmc(n: Pick<NodeView, 'vars'>): boolean {
  return (n.vars.bmc_host ?? '').trim() !== '' && !isSimNode(n.vars);
}

export class SensorsPoller {
  private timer?: NodeJS.Timeout;
  private running: JobHandle[] = [];
  private stopped = false;
  /** sweeps submitted, ticks skipped because the last still ran (tests, diagnostics) */
  sweeps = 0;
  skipped = 0;

  constructor(private readonly host: ModuleHost, private readonly opts: SensorsPollerOptions) {}

  /** the request lines of one sweep now ([] when no node has a BMC) */
  requests(): string[] {
    const all = this.host.nodes();
    const want = all.filter(hasBmc);
    if (want.length === 0) return [];
    const set = want.length === all.length ? '*' : escapeField(foldNodeSet(want.map((n) => n.name)));
    const lines = [`SENSORS:GET:${set}`];
    const selPoll = this.host.modules().some((m) => m.tag === 'SEL' && m.commands.some((c) => c.name === 'POLL'));
    if (this.opts.sel && selPoll) lines.push(`SEL:POLL:${set}`);
    return lines;
  }

  start(): void {
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.running.length > 0) {
      this.skipped++;
      return;
    }
    const lines = this.requests();
    if (lines.length === 0) return;
    const handles: JobHandle[] = [];
    for (const line of lines) {
      try {
        handles.push(this.host.submit(line, { quiet: true, user: 'vacm-poller' }));
      } catch (err) {
        this.host.log('warn', `sensors poller: ${(err as Error).message}`);
      }
    }
    if (handles.length === 0) return;
    this.sweeps++;
    this.running = handles;
    void Promise.allSettled(handles.map((h) => h.done)).finally(() => {
      if (this.running === handles) this.running = [];
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const hs = this.running;
    for (const h of hs) h.cancel();
    if (hs.length) await Promise.race([Promise.allSettled(hs.map((h) => h.done)), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.running = [];
  }
}
