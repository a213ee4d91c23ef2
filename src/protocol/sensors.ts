/**
 * What the engine keeps of a node's sensors and event log, pure: the readings (SENSOR events) and
 * the recent SEL records (SEL events) of one node, made safe and bounded as they come in (a BMC's
 * names and texts are hostile strings: controls escaped, cut short), the hottest temperature, and
 * the black box a NODE_DOWN record carries (docs/sensors.md). No I/O; the engine holds the values.
 */
import { safeText } from './timeline.js';

export type SensorStatus = 'nominal' | 'warning' | 'critical' | 'na';
const STATUSES: ReadonlySet<string> = new Set(['nominal', 'warning', 'critical', 'na']);

/** sensors kept per node (a BMC may list a thousand records; the rest are dropped, oldest name first) */
export const MAX_SENSORS_PER_NODE = 64;
/** SEL records kept per node for the detail pane and the black box */
export const MAX_SEL_PER_NODE = 32;
export const MAX_SENSOR_NAME = 40;
const MAX_UNIT = 16;
const MAX_VALUE = 24;
const MAX_SEL_TEXT = 160;

export interface SensorReading {
  readonly name: string;
  /** the reading as SENSORS:GET gave it (a number, or `na`) */
  readonly value: string;
  /** the number, when it is one */
  readonly num?: number;
  readonly unit: string;
  readonly status: SensorStatus;
  /** ms since the epoch when it was read */
  readonly ts: number;
}

export interface SelSeen {
  readonly id: number;
  /** the BMC's time as SEL:LIST gives it (ISO, `postinit+Ns` or `unknown`) */
  readonly time: string;
  readonly sensor: string;
  readonly event: string;
  readonly direction: 'asserted' | 'deasserted';
  /** ms since the epoch when vacm first saw it */
  readonly seen: number;
}

/** A node's sensors as the store shows them: immutable, replaced on every change. */
export interface NodeSensors {
  /** in the order they were first read */
  readonly readings: readonly SensorReading[];
  /** the hottest temperature sensor (unit C) with a number, if any */
  readonly hottest?: SensorReading;
  /** the most recent SEL records, oldest first */
  readonly sel: readonly SelSeen[];
}

export function sensorStatus(s: string): SensorStatus {
  return STATUSES.has(s) ? (s as SensorStatus) : 'na';
}

/** One SENSOR event's fields made safe: names and units escaped and cut, the status a known one. */
export function safeReading(e: { name: string; value: string; unit: string; status: string }, ts: number): SensorReading {
  const value = safeText(String(e.value), MAX_VALUE);
  const n = Number(value);
  const r: SensorReading = { name: safeText(String(e.name), MAX_SENSOR_NAME), value, unit: safeText(String(e.unit), MAX_UNIT), status: sensorStatus(String(e.status)), ts };
  return Number.isFinite(n) && value.trim() !== '' ? { ...r, num: n } : r;
}

export function safeSel(e: { id: number; time: string; sensor: string; event: string; direction: string }, seen: number): SelSeen {
  return {
    id: Number.isInteger(e.id) && e.id >= 0 && e.id <= 0xffff ? e.id : -1,
    time: safeText(String(e.time), 40),
    sensor: safeText(String(e.sensor), MAX_SENSOR_NAME),
    event: safeText(String(e.event), MAX_SEL_TEXT),
    direction: e.direction === 'deasserted' ? 'deasserted' : 'asserted',
    seen,
  };
}

const isTemperature = (r: SensorReading) => r.unit === 'C' && r.num !== undefined;

export function hottestOf(readings: readonly SensorReading[]): SensorReading | undefined {
  let best: SensorReading | undefined;
  for (const r of readings) if (isTemperature(r) && (best === undefined || r.num! > best.num!)) best = r;
  return best;
}

function build(readings: readonly SensorReading[], sel: readonly SelSeen[]): NodeSensors {
  const hottest = hottestOf(readings);
  return Object.freeze({ readings: Object.freeze(readings.slice()), sel: Object.freeze(sel.slice()), ...(hottest ? { hottest } : {}) });
}

export const NO_SENSORS: NodeSensors = build([], []);

/** `prev` with one reading more (the same name replaced in place); bounded to MAX_SENSORS_PER_NODE. */
export function withReading(prev: NodeSensors | undefined, r: SensorReading): NodeSensors {
  const list = (prev ?? NO_SENSORS).readings.slice();
  const i = list.findIndex((x) => x.name === r.name);
  if (i >= 0) list[i] = r;
  else {
    list.push(r);
    if (list.length > MAX_SENSORS_PER_NODE) list.splice(0, list.length - MAX_SENSORS_PER_NODE);
  }
  return build(list, (prev ?? NO_SENSORS).sel);
}

/** `prev` with a SEL record more (one already held, by id and time, is not added again); bounded. */
export function withSel(prev: NodeSensors | undefined, s: SelSeen): NodeSensors {
  const p = prev ?? NO_SENSORS;
  if (p.sel.some((x) => x.id === s.id && x.time === s.time)) return p;
  const list = [...p.sel, s];
  if (list.length > MAX_SEL_PER_NODE) list.splice(0, list.length - MAX_SEL_PER_NODE);
  return build(p.readings, list);
}

/** Readings not nominal (warning and critical first), for the detail pane. */
export function outOfNominal(s: NodeSensors | undefined): SensorReading[] {
  if (!s) return [];
  const rank: Record<SensorStatus, number> = { critical: 0, warning: 1, na: 2, nominal: 3 };
  return s.readings.filter((r) => r.status === 'warning' || r.status === 'critical').sort((a, b) => rank[a.status] - rank[b.status]);
}

/** When a SEL record happened, ms: the BMC's ISO time when it has one, else when vacm first saw it. */
export function selAt(s: SelSeen): number {
  const t = /^\d{4}-\d\d-\d\dT/.test(s.time) ? Date.parse(s.time) : NaN;
  return Number.isFinite(t) ? t : s.seen;
}

export function selLine(s: SelSeen): string {
  return `${s.time} ${s.sensor}: ${s.event} (${s.direction})`;
}

// ---- the black box ------------------------------------------------------------------------------

/** What a NODE_DOWN record carries: the node's "last words" (docs/events.md). */
export interface BlackBox {
  /** the last console lines, oldest first (controls escaped, each cut) */
  readonly console: readonly string[];
  /** its SEL records of the last BLACK_BOX_SEL_MS, as one line each */
  readonly sel: readonly string[];
  /** its last stats (key=value), and when they were read */
  readonly stats: Readonly<Record<string, string | number>>;
  readonly statsAt?: number;
}

export const BLACK_BOX_CONSOLE_LINES = 20;
export const BLACK_BOX_SEL_MS = 10 * 60_000;
/** bounds of one black box: at most 20 × 160 + 10 × 160 + 24 stats ≈ 6 KB in the timeline */
const BLACK_BOX_LINE = 160;
export const BLACK_BOX_SEL = 10;
const BLACK_BOX_STATS = 24;

/** Anything (a record being made, a line read back from the timeline file) as a bounded black box, or undefined. */
export function safeBlackBox(raw: unknown): BlackBox | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  const lines = (v: unknown, max: number) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(-max).map((x) => safeText(x, BLACK_BOX_LINE)) : []);
  const stats: Record<string, string | number> = Object.create(null);
  if (typeof o.stats === 'object' && o.stats !== null && !Array.isArray(o.stats)) {
    let n = 0;
    for (const [k, v] of Object.entries(o.stats as Record<string, unknown>)) {
      if (n >= BLACK_BOX_STATS) break;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(k)) continue;
      if (typeof v === 'number' && Number.isFinite(v)) stats[k] = v;
      else if (typeof v === 'string') stats[k] = safeText(v, 64);
      else continue;
      n++;
    }
  }
  const box: BlackBox = { console: lines(o.console, BLACK_BOX_CONSOLE_LINES), sel: lines(o.sel, BLACK_BOX_SEL), stats };
  const at = typeof o.statsAt === 'number' && Number.isFinite(o.statsAt) ? o.statsAt : undefined;
  if (box.console.length === 0 && box.sel.length === 0 && Object.keys(stats).length === 0) return undefined;
  return at !== undefined ? { ...box, statsAt: at } : box;
}

/** The SEL lines of the black box: records of the last BLACK_BOX_SEL_MS before `now`. */
export function recentSelLines(s: NodeSensors | undefined, now: number): string[] {
  if (!s) return [];
  return s.sel.filter((x) => now - selAt(x) <= BLACK_BOX_SEL_MS).slice(-BLACK_BOX_SEL).map(selLine);
}
