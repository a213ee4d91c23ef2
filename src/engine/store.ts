/**
 * The engine's store: nodes and jobs, handed out as immutable snapshots. Views are rebuilt only for
 * what changed since the last snapshot; listeners are told at most once per tick.
 */
import type { Counts, DrainInfo, JobView, NodeView } from '../protocol/module.js';
import type { NodeState, PowerState, StatValue } from '../protocol/events.js';
import { maskVars } from '../protocol/vars.js';
import type { NodeSensors } from '../protocol/sensors.js';

export const LOAD_HISTORY = 60;

export interface NodeRecord {
  name: string;
  groups: string[];
  vars: Record<string, string>;
  /** reachability evidence (ping, ssh, agent); the shown state also depends on power */
  reach: NodeState;
  reason?: string;
  since: number;
  power: PowerState;
  local: boolean;
  stats?: Readonly<Record<string, StatValue>>;
  statsTs?: number;
  loadHistory: number[];
  /** set while the node is drained (kept in the state dir's drains.json) */
  drain?: DrainInfo;
  /** its latest sensor readings and recent SEL records (SENSOR and SEL events; bounded) */
  sensors?: NodeSensors;
  view?: NodeView;
}

export type { Counts };

export interface Snapshot {
  readonly version: number;
  readonly cluster: string;
  readonly nodes: readonly NodeView[];
  /** newest first, quiet jobs left out */
  readonly jobs: readonly JobView[];
  readonly counts: Readonly<Counts>;
  readonly runningJobs: number;
}

export function shownState(r: Pick<NodeRecord, 'power' | 'reach'>): NodeState {
  if (r.power === 'off') return 'off';
  return r.reach;
}

/**
 * A frozen shallow copy that shares its hidden class with every other copy of the same keys.
 * `Object.freeze({ ...o })` (and with Object.assign) gives each copy a hidden class of its own in V8:
 * at 4096 nodes reporting every second that was ~8 000 new maps a second (7.5 MiB of them live in a
 * heap snapshot, all old-space garbage once replaced) and megamorphic property reads in the UI.
 * Adding the keys one by one walks the shared transition tree instead.
 */
export function frozenCopy<T extends object>(o: Readonly<T>): Readonly<T> {
  const out = {} as Record<string, unknown>;
  for (const k of Object.keys(o)) out[k] = (o as Record<string, unknown>)[k];
  return Object.freeze(out) as Readonly<T>;
}

export function nodeView(r: NodeRecord): NodeView {
  if (r.view) return r.view;
  const v: NodeView = Object.freeze({
    name: r.name,
    groups: Object.freeze([...r.groups]),
    // what the screen, NEXXUS answers and saved snapshots see: secrets masked (modules read host.vars)
    vars: frozenCopy(maskVars(r.vars)),
    state: shownState(r),
    stateReason: r.reason,
    stateSince: r.since,
    power: r.power,
    local: r.local,
    stats: r.stats,
    statsTs: r.statsTs,
    loadHistory: Object.freeze([...r.loadHistory]),
    drain: r.drain,
    sensors: r.sensors,
  });
  r.view = v;
  return v;
}

export type JobViewSource = { view(): JobView; readonly quiet: boolean; readonly id: number; readonly running: boolean };

export class Store {
  private version = 0;
  private snap: Snapshot | undefined;
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  /** insertion-ordered: the oldest first */
  private readonly jobs = new Map<number, JobViewSource>();
  private readonly maxJobs: number;

  constructor(
    readonly cluster: string,
    private readonly records: ReadonlyMap<string, NodeRecord>,
    opts: { maxJobs?: number } = {},
  ) {
    this.maxJobs = opts.maxJobs ?? 200;
  }

  /** Mark a node changed (drop its cached view). */
  touchNode(r: NodeRecord): void {
    r.view = undefined;
    this.changed();
  }

  addJob(j: JobViewSource): void {
    if (j.quiet) return;
    this.jobs.set(j.id, j);
    // forget the oldest finished jobs beyond the bound
    if (this.jobs.size > this.maxJobs) {
      // values, not entries: with hundreds of jobs running ahead of the finished ones, an [id, job]
      // array per step was 8 KiB of garbage per submitted job
      for (const x of this.jobs.values()) {
        if (this.jobs.size <= this.maxJobs) break;
        if (!x.running) this.jobs.delete(x.id);
      }
    }
    this.changed();
  }

  /** Forget a finished job (the engine's bound on the output they keep). */
  forgetJob(id: number): void {
    if (this.jobs.delete(id)) this.changed();
  }

  changed(): void {
    this.version++;
    this.snap = undefined;
    if (this.notifyScheduled || this.listeners.size === 0) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const l of [...this.listeners]) {
        try {
          l();
        } catch {
          /* a listener's failure must not stop the engine */
        }
      }
    });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getSnapshot = (): Snapshot => {
    if (this.snap) return this.snap;
    const nodes: NodeView[] = [];
    const counts: Counts = { up: 0, down: 0, off: 0, unknown: 0, drained: 0 };
    for (const r of this.records.values()) {
      const v = nodeView(r);
      nodes.push(v);
      if (v.drain) counts.drained++;
      else counts[v.state]++;
    }
    const jobs: JobView[] = [];
    let running = 0;
    for (const j of [...this.jobs.values()].reverse()) {
      const v = j.view();
      if (v.state === 'running' || v.state === 'queued') running++;
      jobs.push(v);
    }
    this.snap = Object.freeze({
      version: this.version,
      cluster: this.cluster,
      nodes: Object.freeze(nodes),
      jobs: Object.freeze(jobs),
      counts: Object.freeze(counts),
      runningJobs: running,
    });
    return this.snap;
  };
}
