/**
 * The dashboard's stats poller: every `intervalMs`, one internal quiet job `SYSSTAT:GET:<nodes>`
 * through the engine, so the sweep goes through the bulk lane (round-robin with operator jobs, never
 * starving them) like any other job. A tick that comes while the last sweep still runs is skipped:
 * sweeps never overlap. Simulated nodes are left out (the SIM module reports their stats itself), as
 * are nodes known to be powered off, and remote nodes when there is no remote executor. A sweep that
 * would read this machine alone runs at most every `localIntervalMs` (each reading redraws the idle
 * dashboard); with other nodes in the sweep the local machine is read every time (that frame is drawn
 * anyway).
 * A remote node whose reading failed waits a pause that doubles with each failure (up to a minute)
 * before it is asked again, and one whose agent reports fresh stats is not polled at all.
 */
import { escapeField } from '../../protocol/ipc.js';
import { foldNodeSet } from '../../protocol/nodeset.js';
import type { JobHandle, ModuleHost, NodeView } from '../../protocol/module.js';
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
  /** a sweep of the local machine alone runs on the first tick at least this long after its last reading (default intervalMs) */
  localIntervalMs?: number;
}

/** timers fire a little early or late: a tick this close to the local interval counts as on time */
const TICK_SLACK_MS = 50;

export class SysstatPoller {
  private timer?: NodeJS.Timeout;
  private running?: JobHandle;
  private stopped = false;
  /** sweeps submitted, and ticks skipped because the last sweep still ran (for tests and diagnostics) */
  sweeps = 0;
  skipped = 0;
  /** when the last sweep that read the local machine was submitted */
  private localAt = -Infinity;

  constructor(private readonly host: ModuleHost, private readonly opts: PollerOptions) {}

  /** the node-set expression of one sweep, or undefined when there is nothing to poll */
  request(): string | undefined {
    return this.line(this.host.nodes(), this.targets());
  }

  /** the nodes a sweep would read now */
  private targets(all = this.host.nodes()): NodeView[] {
    const now = (this.opts.now ?? Date.now)();
    const h = this.opts.health;
    const remoteWanted = (n: NodeView): boolean => {
      if (!this.opts.includeRemote) return false;
      if (!h) return true;
      if (!h.due(n.name)) return false; // failed lately: its pause is not over
      // fresh stats that the poller did not read itself: the node's agent reports it
      const mine = h.lastPolled(n.name);
      if (n.statsTs !== undefined && now - n.statsTs < AGENT_FRESH_MS && (mine === undefined || n.statsTs > mine)) return false;
      return true;
    };
    return all.filter((n) => !isSimNode(n.vars) && n.state !== 'off' && (n.local || remoteWanted(n)));
  }

  private line(all: readonly NodeView[], want: readonly NodeView[]): string | undefined {
    if (want.length === 0) return undefined;
    const set = want.length === all.length ? '*' : escapeField(foldNodeSet(want.map((n) => n.name)));
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
    const all = this.host.nodes();
    const want = this.targets(all);
    const now = Date.now();
    if (want.length === 1 && want[0].local && now - this.localAt < (this.opts.localIntervalMs ?? 0) - TICK_SLACK_MS) return;
    const line = this.line(all, want);
    if (!line) return;
    if (want.some((n) => n.local)) this.localAt = now;
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
