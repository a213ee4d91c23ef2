/**
 * A node as the nodes pane shows it: state glyphs, the row's columns, load, temperature and their
 * colour slots. Pure; the node's name leaves here through `visibleLine`.
 */
import type { NodeView } from '../protocol/module.js';
import type { NodeState } from '../protocol/events.js';
import { visibleLine } from '../protocol/visible.js';
import { fit, fitLeft, sparkline } from './format-text.js';

/** A node's numbers are stale when it is not up: they are its last readings, not live ones. */
export function isStale(n: Pick<NodeView, 'state'>): boolean {
  return n.state !== 'up';
}

export const STATE_GLYPH: Record<NodeState, string> = { up: '●', down: '✖', off: '○', unknown: '?' };
/** a drained node, after its state glyph in the nodes pane and in the detail pane */
export const DRAIN_GLYPH = '⊘';

export interface RowColumns {
  name: number;
  spark: number;
  /** show CPU and memory columns */
  cpuMem: boolean;
  /** show the temperature column (some node has a temperature, and it fits) */
  temp?: boolean;
}

/** How wide each column of a nodes-pane row is for a pane of `width` columns. */
export function rowColumns(width: number, names: readonly NodeView[] | number): RowColumns {
  const longest = typeof names === 'number' ? names : names.reduce((m, n) => Math.max(m, n.name.length), 4);
  const name = Math.min(Math.max(longest, 6), 24);
  // mark(1) glyph(1) sp name sp power(3) sp spark sp load(6) [sp cpu(4) sp mem(4)]
  const fixed = 2 + 1 + name + 1 + 3 + 1 + 1 + 6;
  // decision: the temperature column (only when a node has one) goes before CPU and memory, and
  // takes its room from the sparkline, which keeps at least 10 columns; narrower it hides
  const temp = typeof names !== 'number' && names.some((n) => temperatureOf(n) !== undefined) && width - fixed - TEMP_W >= 10;
  const cpuMem = width - fixed - (temp ? TEMP_W : 0) >= 10 + 10;
  // 30 samples (half a minute at 1 Hz) is plenty at a glance, and sparkline glyphs are the costly part of a frame
  const spark = Math.max(0, Math.min(30, width - fixed - (cpuMem ? 10 : 0) - (temp ? TEMP_W : 0)));
  return temp ? { name, spark, cpuMem, temp } : { name, spark, cpuMem };
}

/** the temperature column: a space and `93°C` */
const TEMP_W = 6;

export type TempSlot = 'sensor.nominal' | 'sensor.warning' | 'sensor.critical';

/**
 * A node's temperature for the nodes pane: its hottest sensor (BMC or lm-sensors through SENSORS),
 * else the CPU temperature its stats carry (agent, this machine), which has no status.
 */
export function temperatureOf(n: NodeView): { celsius: number; status: string } | undefined {
  const h = n.sensors?.hottest;
  if (h?.num !== undefined) return { celsius: h.num, status: h.status };
  const t = num(n.stats?.temp_cpu) ?? num(n.stats?.temp_c);
  return t === undefined ? undefined : { celsius: t, status: 'na' };
}

export function tempSlotOf(status: string): TempSlot | undefined {
  return status === 'critical' ? 'sensor.critical' : status === 'warning' ? 'sensor.warning' : status === 'nominal' ? 'sensor.nominal' : undefined;
}

export function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function loadOf(n: NodeView): number | undefined {
  return num(n.stats?.load1);
}

/**
 * One node row after the state glyph, in three parts: `head` (name, power) and `tail` (load, CPU,
 * memory) are plain ASCII, `spark` is the sparkline. They are drawn as sibling Texts because ink
 * measures every Text's width on every frame, and only a non-ASCII string takes the slow path.
 */
export interface RowParts {
  head: string;
  spark: string;
  /** the load column (with its leading space) */
  tail: string;
  /** CPU and memory columns ('' when the pane is too narrow) */
  rest: string;
  /** the load's colour slot (load per CPU), undefined when stale or unknown */
  level?: LoadLevel;
  /** the temperature column ('' when not shown), and its colour by the sensor's status */
  temp?: string;
  tempSlot?: TempSlot;
}

/** The load gradient's theme slots, by load per CPU: < 0.5, < 0.8, < 0.9, from 0.9 (saturated: overview digit 9). */
export type LoadLevel = 'load.low' | 'load.mid' | 'load.high' | 'load.full';

export function loadLevelOf(ratio: number): LoadLevel {
  return ratio < 0.5 ? 'load.low' : ratio < 0.8 ? 'load.mid' : ratio < 0.9 ? 'load.high' : 'load.full';
}

/** An up node's load gradient slot; undefined when it is not up or has no load reading. */
export function loadLevel(n: NodeView): LoadLevel | undefined {
  if (n.state !== 'up') return undefined;
  const load = loadOf(n);
  if (load === undefined) return undefined;
  return loadLevelOf(load / (num(n.stats?.cpus) || 1));
}

export function nodeRowParts(n: NodeView, cols: RowColumns): RowParts {
  const stale = isStale(n);
  const load = loadOf(n);
  const cpus = num(n.stats?.cpus);
  const power = n.power === 'unknown' ? ' ? ' : n.power === 'on' ? 'on ' : 'off';
  const head = ' ' + fit(visibleLine(n.name), cols.name) + ' ' + power + ' ';
  const spark = cols.spark > 0 ? sparkline(n.loadHistory, cols.spark, cpus) : '';
  const tail = (cols.spark > 0 ? ' ' : '') + (stale || load === undefined ? fitLeft('-', 6) : fitLeft(load.toFixed(2), 6));
  let rest = '';
  if (cols.cpuMem) {
    const cpu = num(n.stats?.cpu_pct);
    const mem = num(n.stats?.mem_used_pct);
    rest += ' ' + fitLeft(stale || cpu === undefined ? '-' : `${Math.round(cpu)}%`, 4);
    rest += ' ' + fitLeft(stale || mem === undefined ? '-' : `${Math.round(mem)}%`, 4);
  }
  if (!cols.temp) return { head, spark, tail, rest, level: loadLevel(n) };
  const t = temperatureOf(n);
  const temp = ' ' + fitLeft(t === undefined ? '–' : `${Math.round(t.celsius)}°C`, TEMP_W - 1);
  const tempSlot = t === undefined ? undefined : tempSlotOf(t.status);
  return { head, spark, tail, rest, level: loadLevel(n), temp, ...(tempSlot ? { tempSlot } : {}) };
}

/** The text of one node row after the state glyph: name, power, sparkline, load, CPU and memory. */
export function formatNodeRow(n: NodeView, cols: RowColumns): string {
  const p = nodeRowParts(n, cols);
  return (p.head + p.spark + p.tail + p.rest + (p.temp ?? '')).slice(1);
}

/** The list's column header; `sorted` marks the sorted column with its direction (`LOAD▼`). */
export function rowHeader(cols: RowColumns, sorted?: { column?: string; arrow: string }): string {
  const h = (name: string) => (sorted?.column === name ? name + sorted.arrow : name);
  let s = '  ' + fit(h('NODE'), cols.name) + ' PWR ';
  if (cols.spark > 0) s += fit('LOAD (1 min)', cols.spark) + ' ';
  s += fitLeft(h('LOAD'), 6);
  if (cols.cpuMem) s += ' ' + fitLeft(h('CPU'), 4) + ' ' + fitLeft(h('MEM'), 4);
  if (cols.temp) s += ' ' + fitLeft('TEMP', TEMP_W - 1);
  return s;
}
