/**
 * The dashboard's stats poller: every `intervalMs`, one internal quiet job `SYSSTAT:GET:<nodes>`
 * (the timer, skipping and stopping are QuietSweep's, src/backends/quiet-sweep.ts). Nodes that
 * report themselves are left out (the simulated ones: the SIM module reports their stats; the
 * Providers say which), as are nodes known to be powered off, and remote nodes when there is no
 * remote executor. A sweep that would read this machine alone runs at most every `localIntervalMs`
 * (each reading redraws the idle dashboard); with other nodes in the sweep the local machine is
 * read every time (that frame is drawn anyway).
 * A remote node whose reading failed waits a pause that doubles with each failure (up to a minute)
 * before it is asked again, and one whose agent reports fresh stats is not polled at all.
 */
import type { ModuleHost, NodeView } from '../../protocol/module.js';
import { REAL_PROVIDERS, type Providers } from '../capabilities.js';
import { QuietSweep, sweepNodeSet } from '../quiet-sweep.js';
import type { RemoteHealth } from './health.js';

/** stats from another source (the agent) at most this old keep the poller off a node */
export const AGENT_FRESH_MS = 15_000;

export interface PollerOptions {
  intervalMs: number;
  /** poll nodes other than the local machine (only when a remote executor exists) */
  includeRemote: boolean;
  /** failures and own readings of remote nodes, kept by the GET command */
  health?: RemoteHealth;
  /** which nodes report themselves (default: none) */
  providers?: Providers;
  now?: () => number;
  /** a sweep of the local machine alone runs on the first tick at least this long after its last reading (default intervalMs) */
  localIntervalMs?: number;
}

/** timers fire a little early or late: a tick this close to the local interval counts as on time */
const TICK_SLACK_MS = 50;

export class SysstatPoller extends QuietSweep {
  /** when the last sweep that read the local machine was submitted */
  private localAt = -Infinity;

  constructor(host: ModuleHost, private readonly opts: PollerOptions) {
    super(host, opts.intervalMs, 'sysstat poller');
  }

  /** the node-set expression of one sweep, or undefined when there is nothing to poll */
  request(): string | undefined {
    return this.line(this.host.nodes(), this.targets());
  }

  /** the nodes a sweep would read now */
  private targets(all = this.host.nodes()): NodeView[] {
    const now = (this.opts.now ?? Date.now)();
    const h = this.opts.health;
    const providers = this.opts.providers ?? REAL_PROVIDERS;
    const remoteWanted = (n: NodeView): boolean => {
      if (!this.opts.includeRemote) return false;
      if (!h) return true;
      if (!h.due(n.name)) return false; // failed lately: its pause is not over
      // fresh stats that the poller did not read itself: the node's agent reports it
      const mine = h.lastPolled(n.name);
      if (n.statsTs !== undefined && now - n.statsTs < AGENT_FRESH_MS && (mine === undefined || n.statsTs > mine)) return false;
      return true;
    };
    return all.filter((n) => n.state !== 'off' && !providers.of(n.name, n.vars).selfReporting && (n.local || remoteWanted(n)));
  }

  private line(all: readonly NodeView[], want: readonly NodeView[]): string | undefined {
    return want.length === 0 ? undefined : `SYSSTAT:GET:${sweepNodeSet(all, want)}`;
  }

  protected plan(): string[] {
    const all = this.host.nodes();
    const want = this.targets(all);
    const now = Date.now();
    if (want.length === 1 && want[0].local && now - this.localAt < (this.opts.localIntervalMs ?? 0) - TICK_SLACK_MS) return [];
    const line = this.line(all, want);
    if (!line) return [];
    if (want.some((n) => n.local)) this.localAt = now;
    return [line];
  }
}
