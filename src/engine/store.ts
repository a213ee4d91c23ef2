/**
 * The engine's store: nodes and jobs, handed out as immutable snapshots. Views are rebuilt only for
 * what changed since the last snapshot; listeners are told at most once per tick.
 */
import type { Counts, DrainInfo, JobView, NodeView } from '../protocol/module.js';
import type { NodeState, PowerState, StatValue } from '../protocol/events.js';
import { maskVars } from '../protocol/vars.js';
import type { NodeSensors } from '../protocol/sensors.js';
import { Notifier } from './notifier.js';

export const LOAD_HISTORY = 60;

export interface NodeRecord {
  name: string;
  groups: string[];
  /** changed only with Store.touchVars after (views share a frozen copy until then) */
  vars: Record<string, string>;
  /** reachability evidence (ping, ssh, agent); the shown state also depends on power */
  reach: NodeState;
  reason?: string;
  since: number;
  power: PowerState;
  local: boolean;
  stats?: Readonly<Record<string, StatValue>>;
  statsTs?: number;
  /**
   * recent load1 samples, append-only (pushLoad): a view keeps this array and its length then and
   * reads its last LOAD_HISTORY samples only when asked, so no sample is ever overwritten in place
   */
  loadHistory: number[];
  /** set while the node is drained (kept in the state dir's drains.json) */
  drain?: DrainInfo;
  /** its latest sensor readings and recent SEL records (SENSOR and SEL events; bounded) */
  sensors?: NodeSensors;
  view?: NodeView;
  /** the last view's groups and vars, handed to the next view while they stay the same */
  shared?: { groups: readonly string[]; vars: NodeView['vars'] };
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

/**
 * Add a load sample. The array only grows; at twice LOAD_HISTORY it is replaced by a new one
 * holding the last LOAD_HISTORY - 1 samples and this one, so views made before keep theirs intact.
 */
export function pushLoad(r: NodeRecord, load: number): void {
  if (r.loadHistory.length >= 2 * LOAD_HISTORY) r.loadHistory = r.loadHistory.slice(-(LOAD_HISTORY - 1));
  r.loadHistory.push(load);
}

/**
 * The samples a view shows: copied when read, not when the view is made. Every node's view is
 * rebuilt each time its stats arrive (once a second per node in a big demo) and lives about a
 * second, long enough to reach V8's old generation; a 60-sample copy each time was half of every
 * view's bytes (2 MiB/s of promoted garbage at 4096 nodes), read only for the dozens of rows on
 * screen. One getter for every view (it reads the view's private window), so views share their
 * hidden class. A class: its private fields (the window) cost a plain store each, where the two
 * hidden symbol properties were a `defineProperty` call each. `loadHistory` stays an own enumerable
 * accessor (one `defineProperty`), so JSON, spread and Object.keys see it where they did.
 */
class View {
  readonly #loads: readonly number[];
  readonly #loadsN: number;
  static readonly #loadHistory: PropertyDescriptor = {
    enumerable: true,
    get(this: View): readonly number[] {
      const n = this.#loadsN;
      return Object.freeze(this.#loads.slice(Math.max(0, n - LOAD_HISTORY), n));
    },
  };
  constructor(r: NodeRecord, shared: NonNullable<NodeRecord['shared']>) {
    const v = this as unknown as { -readonly [K in keyof NodeView]: NodeView[K] };
    // in this order, so that every view walks the same hidden-class transitions (and keys print in it)
    v.name = r.name;
    v.groups = shared.groups;
    v.vars = shared.vars;
    v.state = shownState(r);
    v.stateReason = r.reason;
    v.stateSince = r.since;
    v.power = r.power;
    v.local = r.local;
    v.stats = r.stats;
    v.statsTs = r.statsTs;
    Object.defineProperty(this, 'loadHistory', View.#loadHistory);
    v.drain = r.drain;
    v.sensors = r.sensors;
    this.#loads = r.loadHistory;
    this.#loadsN = r.loadHistory.length;
  }
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function nodeView(r: NodeRecord): NodeView {
  if (r.view) return r.view;
  let shared = r.shared;
  // groups and vars seldom change while stats arrive every second: reuse the frozen copies
  // (Store.touchVars drops them when a variable changes)
  if (!shared || !sameGroups(shared.groups, r.groups)) {
    // what the screen, NEXXUS answers and saved snapshots see: secrets masked (modules read host.vars)
    shared = r.shared = { groups: Object.freeze([...r.groups]), vars: frozenCopy(maskVars(r.vars)) };
  }
  r.view = Object.freeze(new View(r, shared) as unknown as NodeView);
  return r.view;
}

export type JobViewSource = { view(): JobView; readonly quiet: boolean; readonly id: number; readonly running: boolean };

export class Store {
  private readonly notifier = new Notifier();
  private snap: Snapshot | undefined;
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

  /** Mark a node's variables changed (its views' shared copy of them too). */
  touchVars(r: NodeRecord): void {
    r.shared = undefined;
    this.touchNode(r);
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
    this.snap = undefined;
    this.notifier.changed();
  }

  subscribe(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
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
      version: this.notifier.version,
      cluster: this.cluster,
      nodes: Object.freeze(nodes),
      jobs: Object.freeze(jobs),
      counts: Object.freeze(counts),
      runningJobs: running,
    });
    return this.snap;
  };
}
