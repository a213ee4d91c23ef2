/**
 * What the engine learns about a node (reachability, power, stats) put on its record, from the
 * modules' pollers (ModuleHost) and from the facts their events tell (ModuleDef.facts): the state
 * transitions go to membership (NODE_UP / NODE_DOWN, the hooks) and, in a standing engine, to the
 * timeline; stats go to the load history.
 */
import type { EventBody, NodeState, PowerState, StatValue } from '../protocol/events.js';
import type { NodeFact } from '../protocol/node-facts.js';
import type { TimelineFields, TimelineKind } from '../protocol/timeline.js';
import { BLACK_BOX_CONSOLE_LINES, recentSelLines, safeReading, safeSel, withReading, withSel, type BlackBox } from '../protocol/sensors.js';
import type { History } from './history.js';
import type { TemperatureHistory } from './temperature-history.js';
import type { Membership } from './membership.js';
import { frozenCopy, pushLoad, shownState, type NodeRecord, type Store } from './store.js';

export interface NodeFactsDeps {
  readonly records: ReadonlyMap<string, NodeRecord>;
  readonly membership: Membership;
  readonly history: History;
  /** the hottest temperature per node and minute (SENSOR events) */
  readonly temperatures: TemperatureHistory;
  readonly store: Store;
  /** a standing engine: state changes are news for the timeline */
  readonly monitor: boolean;
  record(kind: TimelineKind, node: string | undefined, text: string, fields?: TimelineFields, blackBox?: BlackBox): void;
  /** the node's last console lines, oldest first ([] when none are kept) */
  consoleLines(node: string, count: number): readonly string[];
}

export class NodeFacts {
  constructor(private readonly deps: NodeFactsDeps) {}

  /** A fact a module's event told (protocol/node-facts.ts), on the node's record. */
  apply(f: NodeFact): void {
    if (f.kind === 'reach') this.setNodeState(f.node, f.state, f.reason);
    else if (f.kind === 'power') this.setPower(f.node, f.state);
    else if (f.kind === 'sensor' || f.kind === 'sel') this.recordSensors(f.event);
    else this.recordStats(f.node, f.stats);
  }

  setNodeState(node: string, state: NodeState, reason?: string): void {
    const r = this.deps.records.get(node);
    if (!r) return;
    if (r.reach === state && r.reason === reason) return;
    const before = shownState(r);
    r.reach = state;
    r.reason = reason;
    if (state === 'up' && r.power === 'unknown') r.power = 'on';
    this.nodeStateChanged(r, before);
  }

  setPower(node: string, power: PowerState): void {
    const r = this.deps.records.get(node);
    if (!r || r.power === power) return;
    const before = shownState(r);
    r.power = power;
    if (power === 'off') r.reason = 'powered off';
    this.nodeStateChanged(r, before);
  }

  private nodeStateChanged(r: NodeRecord, before: NodeState): void {
    const changed = this.deps.membership.changed(r, before);
    this.deps.store.touchNode(r);
    // news for the timeline: a known state that changed, in a standing engine (a one-shot ipc
    // starts every node at unknown, and a dashboard's first sweep is not what happened)
    if (changed && this.deps.monitor && before !== 'unknown') {
      const to = shownState(r);
      // a NODE_DOWN record carries the node's last words (its black box)
      this.deps.record('membership', r.name, `${to}${to !== 'up' && r.reason ? `: ${r.reason}` : ''} (was ${before})`, { from: before, to }, before === 'up' ? this.blackBox(r) : undefined);
    }
  }

  /** What the node said last: its console lines, its SEL of the last 10 minutes, its stats (bounded again by the timeline). */
  private blackBox(r: NodeRecord): BlackBox {
    return { console: this.deps.consoleLines(r.name, BLACK_BOX_CONSOLE_LINES), sel: recentSelLines(r.sensors, Date.now()), stats: r.stats ?? {}, ...(r.statsTs !== undefined ? { statsAt: r.statsTs } : {}) };
  }

  /** A SENSOR or SEL event of any job: the node's latest readings and recent SEL (bounded, made safe). */
  recordSensors(e: Extract<EventBody, { type: 'SENSOR' | 'SEL' }>): void {
    const r = this.deps.records.get(e.node);
    if (!r) return;
    const now = Date.now();
    const before = r.sensors;
    if (e.type === 'SENSOR') {
      const reading = safeReading(e, now);
      r.sensors = withReading(before, reading);
      if (reading.unit === 'C' && reading.num !== undefined) this.deps.temperatures.record(r.name, now, reading.num);
    } else r.sensors = withSel(before, safeSel(e, now));
    if (r.sensors !== before) this.deps.store.touchNode(r);
  }

  /** A job-0 SEL event (the sensors poller's news): the timeline and the hooks that asked for `sel`. */
  newSelRecord(e: Extract<EventBody, { type: 'SEL' }>): void {
    const r = this.deps.records.get(e.node);
    if (!r) return;
    const s = safeSel(e, Date.now());
    this.deps.record('sel', r.name, `SEL ${s.id}: ${s.sensor}: ${s.event} (${s.direction}) at ${s.time}`, { id: s.id, sensor: s.sensor, direction: s.direction });
    this.deps.membership.selRecord(r, { id: s.id, time: s.time, sensor: s.sensor, event: s.event, direction: s.direction });
  }

  recordStats(node: string, stats: Readonly<Record<string, StatValue>>, ts = Date.now()): void {
    const r = this.deps.records.get(node);
    if (!r) return;
    // a module that hands over a frozen plain object (SIM does) gives up changing it: keep it, rather
    // than a second copy per node per second (at 16 384 nodes the copies were 3.7 % of the CPU)
    r.stats = Object.isFrozen(stats) && Object.getPrototypeOf(stats) === Object.prototype ? stats : frozenCopy(stats);
    r.statsTs = ts;
    this.deps.history.record(node, ts, stats);
    const load = Number(stats.load1);
    if (Number.isFinite(load)) {
      pushLoad(r, load);
    }
    this.deps.store.touchNode(r);
  }
}
