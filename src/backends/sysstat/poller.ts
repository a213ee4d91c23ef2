/**
 * The dashboard's stats poller: every `intervalMs`, one internal quiet job `SYSSTAT:GET:<nodes>`
 * through the engine, so the sweep goes through the bulk lane (round-robin with operator jobs, never
 * starving them) like any other job. A tick that comes while the last sweep still runs is skipped:
 * sweeps never overlap. Simulated nodes are left out (the SIM module reports their stats itself), as
 * are nodes known to be powered off, and remote nodes when there is no remote executor. A remote node
 * whose reading failed waits a pause that doubles with each failure (up to a minute) before it is asked
 * again, and one whose agent reports fresh stats is not polled at all.
 */
import { escapeField } from '../../protocol/ipc.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import type { JobHandle, ModuleHost } from '../../protocol/module.js';
import { isSimNode } from '../sim/module.js';
import type { RemoteHealth } from './health.js';

/** stats from another source (the agent) at most this old keep the poller off a node */
export const AGENT_FRESH_MS = 15_000;

export interface PollerOptions {
  intervalMs: number;
  /** poll nodes other than the local machine (only when a remote executor exists) */
  includeRemote: boolean;
  /** failures and own readings of remote nodes, kept by the GET command */
  health?: RemoteHealth;
  now?: () => number;
}

export class SysstatPoller {
  private timer?: NodeJS.Timeout;
  private running?: JobHandle;
  private stopped = false;
  /** sweeps submitted, and ticks skipped because the last sweep still ran (for tests and diagnostics) */
  sweeps = 0;
  skipped = 0;

  constructor(private readonly host: ModuleHost, private readonly opts: PollerOptions) {}

  /** the node-set expression of one sweep, or undefined when there is nothing to poll */
  request(): string | undefined {
    const all = this.host.nodes();
    const now = (this.opts.now ?? Date.now)();
    const h = this.opts.health;
    const remoteWanted = (n: (typeof all)[number]): boolean => {
      if (!this.opts.includeRemote) return false;
      if (!h) return true;
      if (!h.due(n.name)) return false; // failed lately: its pause is not over
      // fresh stats that the poller did not read itself: the node's agent reports it
      const mine = h.lastPolled(n.name);
      if (n.statsTs !== undefined && now - n.statsTs < AGENT_FRESH_MS && (mine === undefined || n.statsTs > mine)) return false;
      return true;
    };
    const want = all.filter((n) => !isSimNode(n.vars) && n.state !== 'off' && (n.local || remoteWanted(n))).map((n) => n.name);
    if (want.length === 0) return undefined;
    const set = want.length === all.length ? '*' : escapeField(foldNodeSet(want));
    return `SYSSTAT:GET:${set}`;
  }

  start(): void {
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.skipped++;
      return;
    }
    const line = this.request();
    if (!line) return;
    let handle: JobHandle;
    try {
      handle = this.host.submit(line, { quiet: true, user: 'vacm-poller' });
    } catch (err) {
      this.host.log('warn', `sysstat poller: ${(err as Error).message}`);
      return;
    }
    this.sweeps++;
    this.running = handle;
    void handle.done.finally(() => {
      if (this.running === handle) this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const h = this.running;
    if (h) {
      h.cancel();
      await Promise.race([h.done, new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    this.running = undefined;
  }
}
