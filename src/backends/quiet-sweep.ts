/**
 * The skeleton of a module's quiet poller (SYSSTAT's stats, SENSORS' BMC readings): every
 * `intervalMs`, the request lines `plan()` gives are submitted as internal quiet jobs through the
 * engine, so the reads go through the bulk lane (round-robin with operator jobs, never starving
 * them) like any other job. A tick that comes while the last sweep still runs is skipped: sweeps
 * never overlap. Stopping cancels the running sweep and waits for it a bounded while.
 */
import { escapeField } from '../protocol/ipc.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import type { JobHandle, ModuleHost, NodeView } from '../protocol/module.js';

/** how long stop() waits for a cancelled sweep to end */
const STOP_WAIT_MS = 3000;

/** The node-set field of a sweep over `want` of `all`: `*` when it is every node, else the folded set. */
export function sweepNodeSet(all: readonly NodeView[], want: readonly NodeView[]): string {
  return want.length === all.length ? '*' : escapeField(foldNodeSet(want.map((n) => n.name)));
}

export abstract class QuietSweep {
  private timer?: NodeJS.Timeout;
  private running: JobHandle[] = [];
  private stopped = false;
  /** sweeps submitted, and ticks skipped because the last sweep still ran (for tests and diagnostics) */
  sweeps = 0;
  skipped = 0;

  /** `what` names the poller in warnings ("sysstat poller: ...") */
  constructor(protected readonly host: ModuleHost, private readonly intervalMs: number, private readonly what: string) {}

  /** the request lines of the sweep due now ([] when there is nothing to read) */
  protected abstract plan(): string[];

  start(): void {
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.running.length > 0) {
      this.skipped++;
      return;
    }
    const handles: JobHandle[] = [];
    for (const line of this.plan()) {
      try {
        handles.push(this.host.submit(line, { quiet: true, user: 'vacm-poller' }));
      } catch (err) {
        this.host.log('warn', `${this.what}: ${(err as Error).message}`);
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
    if (hs.length) await Promise.race([Promise.allSettled(hs.map((h) => h.done)), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    this.running = [];
  }
}
