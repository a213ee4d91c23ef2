/**
 * Pure formatting for the dashboard: node rows, sparklines, the braille load chart, job lines and
 * gathered job output. No React, no I/O: the panes render these strings, and tests call them directly.
 * Text that came from nodes, agents or the config (names, requests, output, errors) leaves here through
 * `visibleLine`: ink passes escape sequences through, so a raw ESC would reach the terminal.
 */
import { createRequire } from 'node:module';
import type { JobView, NodeView } from '../protocol/module.js';
import type { NodeState, VacmEvent } from '../protocol/events.js';
import { toWire } from '../protocol/events.js';
import { gatherOutputs, formatGathered, naturalCompare, statSummary, type ResultGathering } from '../protocol/gather.js';
import { visibleLine } from '../protocol/visible.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { copyLine, formatBytes } from '../protocol/copy.js';

const SPARKS = '▁▂▃▄▅▆▇█';

/** Pad or cut to exactly `w` columns (our strings are single-width: names, digits, block glyphs). */
export function fit(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return w === 1 ? s.slice(0, 1) : s.slice(0, w - 1) + '…';
  return s + ' '.repeat(w - s.length);
}

export function fitLeft(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return s.slice(s.length - w);
  return ' '.repeat(w - s.length) + s;
}

/**
 * A sparkline of the last `width` samples, scaled to `max` (a node's CPU count makes load comparable
 * across nodes); left-padded with spaces when there are fewer samples.
 */
export function sparkline(samples: readonly number[], width: number, max?: number): string {
  if (width <= 0) return '';
  const tail = samples.length > width ? samples.slice(samples.length - width) : samples;
  const top = max && max > 0 ? max : Math.max(1e-9, ...tail);
  let out = '';
  for (const v of tail) {
    const i = Math.max(0, Math.min(SPARKS.length - 1, Math.floor((v / top) * SPARKS.length)));
    out += SPARKS[i];
  }
  return ' '.repeat(width - tail.length) + out;
}

/** `13 s ago`, `4 min ago`, `2 h ago`: how old a reading is, in the words an operator reads at a glance. */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

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

function num(v: unknown): number | undefined {
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

export { SORT_KEYS, sortNodes, type SortKey } from './sort.js';

/**
 * The overview cell of a node, ASCII so that ink measures a 4096-cell screen on its fast path: an up
 * node's load per CPU as a digit 0-9 (9: saturated), X down, . off, ? unknown.
 */
export function overviewGlyph(n: NodeView): string {
  if (n.state === 'up') {
    const load = loadOf(n) ?? 0;
    const cpus = num(n.stats?.cpus) ?? 1;
    return String(Math.max(0, Math.min(9, Math.floor((load / cpus) * 10))));
  }
  return n.state === 'down' ? 'X' : n.state === 'off' ? '.' : '?';
}

/** Runs of consecutive cells with the same colour slot, so one overview line is a handful of Text spans. */
export function overviewRuns(nodes: readonly NodeView[], slotOf: (n: NodeView, i: number) => string): { slot: string; text: string }[] {
  const runs: { slot: string; text: string }[] = [];
  nodes.forEach((n, i) => {
    const slot = slotOf(n, i);
    const g = overviewGlyph(n);
    const last = runs[runs.length - 1];
    if (last && last.slot === slot) last.text += g;
    else runs.push({ slot, text: g });
  });
  return runs;
}

// ---- the braille chart ---------------------------------------------------------------------------

interface DrawilleContext {
  strokeStyle: string;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  _canvas: { frame(delimiter?: string): string; set(x: number, y: number): void };
}

const require = createRequire(import.meta.url);
let DrawilleCtor: (new (w: number, h: number) => DrawilleContext) | undefined;

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/** The chart's spans, shortest first: `+` zooms in (a shorter span), `-` out. */
export const CHART_SPANS_MS: readonly number[] = [60_000, 300_000, 3_600_000, 86_400_000];

/** `60s`, `5m`, `2m30s`, `1h`, `30m`, `24h`: a span as the chart's axis says it. */
export function spanLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s <= 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m${s % 60}s`;
  return s % 3600 === 0 ? `${s / 3600}h` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above v. */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v - 1e-9) return m * p;
  return 10 * p;
}

function axisNumber(v: number): string {
  return v >= 10 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

/** Load samples over time: ms since the epoch, oldest first, and their values (NaN: no reading). */
export interface LoadSeries {
  readonly ts: readonly number[];
  readonly values: readonly number[];
}

/** One row of the chart: a Y label (ASCII, padded) and the braille plot, or the time axis. */
export interface ChartRow {
  readonly label: string;
  readonly plot: string;
}

/**
 * The detail pane's load chart in `cols` x `rows` cells: a braille line of the samples in the last
 * `spanMs` before `now` placed by their time (a gap of more than three steps breaks the line), a
 * dotted line at load = `cpus`, Y labels (the scale's top, the CPU count on its dotted line, 0) and
 * under it the span (`-60s  -30s  now`). Drawn with blessed-contrib's drawille canvas into plain
 * strings (its per-cell colour escapes stripped: the pane colours the chart once). [] below 2 rows.
 */
export function loadChart(series: LoadSeries, opts: { now: number; spanMs: number; cols: number; rows: number; cpus?: number }): ChartRow[] {
  const plotRows = opts.rows - 1;
  if (plotRows < 1 || opts.cols < 8) return [];
  DrawilleCtor ??= require('drawille-canvas-blessed-contrib') as new (w: number, h: number) => DrawilleContext;
  const from = opts.now - opts.spanMs;
  const pts: [number, number][] = [];
  for (let i = 0; i < series.ts.length; i++) if (series.ts[i] >= from && series.ts[i] <= opts.now) pts.push([series.ts[i], series.values[i]]);
  const cpus = opts.cpus && opts.cpus > 0 ? opts.cpus : undefined;
  let dataMax = 0;
  for (const [, v] of pts) if (v > dataMax) dataMax = v;
  const top = niceCeil(Math.max(dataMax, cpus ? cpus * 1.25 : 0, 0.1));
  const labelW = Math.max(axisNumber(top).length, cpus ? axisNumber(cpus).length : 1) + 1;
  const cells = opts.cols - labelW;
  const w = cells * 2;
  const h = plotRows * 4;
  const ctx = new DrawilleCtor(w, h);
  const x = (t: number) => Math.round(((t - from) / opts.spanMs) * (w - 1));
  const y = (v: number) => Math.round((h - 1) - (Math.max(0, Math.min(top, v)) / top) * (h - 1));
  const yc = cpus !== undefined ? y(cpus) : undefined;
  if (yc !== undefined) for (let px = 0; px < w; px += 3) ctx._canvas.set(px, yc);
  // the typical step between samples: a longer gap (the node was down, vacm was not running) breaks the line
  const gaps = pts.slice(1).map((p, i) => p[0] - pts[i][0]).sort((a, b) => a - b);
  const step = gaps.length ? gaps[Math.floor(gaps.length / 2)] : opts.spanMs;
  ctx.strokeStyle = 'normal';
  ctx.beginPath();
  let prev: [number, number] | undefined;
  for (const p of pts) {
    if (!Number.isFinite(p[1])) {
      prev = undefined;
      continue;
    }
    if (!prev || p[0] - prev[0] > step * 3) {
      ctx.moveTo(x(p[0]), y(p[1]));
      ctx.lineTo(x(p[0]), y(p[1]));
    } else ctx.lineTo(x(p[0]), y(p[1]));
    prev = p;
  }
  ctx.stroke();
  const plot = ctx._canvas.frame('\n').replace(ANSI_RE, '').split('\n');
  plot.pop();
  const labels = new Array<string>(plotRows).fill('');
  labels[0] = axisNumber(top);
  labels[plotRows - 1] = '0';
  if (yc !== undefined) labels[Math.floor(yc / 4)] = axisNumber(cpus!);
  const rows: ChartRow[] = plot.map((l, i) => ({ label: fitLeft(labels[i], labelW - 1) + ' ', plot: l }));
  const left = `-${spanLabel(opts.spanMs)}`;
  const mid = `-${spanLabel(opts.spanMs / 2)}`;
  const right = 'now';
  let axis = left + ' '.repeat(Math.max(1, cells - left.length - right.length)) + right;
  const at = Math.floor(cells / 2 - mid.length / 2);
  if (at > left.length + 1 && at + mid.length < cells - right.length - 1) axis = axis.slice(0, at) + mid + axis.slice(at + mid.length);
  rows.push({ label: ' '.repeat(labelW), plot: axis.slice(0, cells) });
  return rows;
}

// ---- jobs ----------------------------------------------------------------------------------------

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export const JOB_GLYPH: Record<JobView['state'], string> = { queued: '…', running: '▶', completed: '✔', failed: '✖', cancelled: '■' };

/**
 * How a job ended, as an operator reads it: a job that completed with every node failed is a
 * failure (✖), with some failed a warning (⚠); only a clean run gets ✔.
 */
export type JobOutcome = 'running' | 'ok' | 'partial' | 'failed' | 'cancelled';

export function jobOutcome(j: Pick<JobView, 'state' | 'failed' | 'ok' | 'targets'>): JobOutcome {
  if (j.state === 'queued' || j.state === 'running') return 'running';
  if (j.state === 'cancelled') return 'cancelled';
  if (j.state === 'failed') return 'failed';
  if (j.failed > 0 && j.ok === 0) return 'failed';
  return j.failed > 0 ? 'partial' : 'ok';
}

export const OUTCOME_GLYPH: Record<JobOutcome, string> = { running: '▶', ok: '✔', partial: '⚠', failed: '✖', cancelled: '■' };

/**
 * `#12 ✔ 2/2 completed  POWER:OFF:sim[001-002]  0.4s`: the id, the outcome, the progress and the state
 * word first, the duration last, and the request between them is what gets cut on a narrow pane
 * (at 80x24 the jobs pane is 34 columns: the state must survive, the request is in the output view).
 */
export function formatJobLine(j: JobView, now: number, width: number): string {
  const total = j.targets.length;
  const progress = total > 0 ? `${j.done}/${total}` : `${j.done}`;
  const dur = formatDuration((j.endedAt ?? now) - j.startedAt);
  const glyph = j.state === 'queued' ? JOB_GLYPH.queued : OUTCOME_GLYPH[jobOutcome(j)];
  const line = visibleLine(j.line);
  // a job that came through a door of vacm serve names who ran it (an attached dashboard shows everyone's)
  const by = j.origin ? `  by ${visibleLine(j.origin.user)}` : '';
  const build = (short: boolean) => {
    let state: string = j.state;
    // the glyph already says completed (✔ ⚠ ✖): a narrow pane keeps only the count of failures
    if (j.state === 'completed') state = j.failed > 0 ? (short ? `${j.failed} failed` : `completed, ${j.failed} failed`) : short ? 'done' : 'completed';
    if (j.state === 'failed' && j.error) state = `failed: ${j.error.code}`;
    const head = `#${j.id} ${glyph} ${progress} ${state}  `;
    return { head, room: width - head.length - dur.length - 2 - by.length };
  };
  let { head, room } = build(false);
  if (room < Math.min(10, line.length)) ({ head, room } = build(true));
  return `${head}${fit(line, Math.max(1, Math.min(room, line.length)))}  ${dur}${by}`;
}

/** What became of each node of a running job, as the engine keeps it (UiEngine.jobOutcomes). */
export type NodeOutcomeName = 'ok' | 'failed' | 'skipped';

export interface ProgressPart {
  readonly label: 'done' | 'failed' | 'skipped' | 'waiting';
  /** folded node set */
  readonly nodes: string;
  readonly count: number;
}

/**
 * A running job's summary, the nodes by outcome: `done sim[0001-0020] (20) · waiting … · failed …`
 * (empty outcomes left out; waiting is every target with no outcome yet).
 */
export function jobProgress(j: Pick<JobView, 'targets'>, outcomes: ReadonlyMap<string, NodeOutcomeName>): ProgressPart[] {
  const by: Record<ProgressPart['label'], string[]> = { done: [], failed: [], skipped: [], waiting: [] };
  for (const t of j.targets) {
    const o = outcomes.get(t);
    by[o === undefined ? 'waiting' : o === 'ok' ? 'done' : o].push(t);
  }
  return (['done', 'failed', 'skipped', 'waiting'] as const).filter((k) => by[k].length > 0).map((label) => ({ label, nodes: foldNodeSet(by[label]), count: by[label].length }));
}

export function formatProgress(parts: readonly ProgressPart[]): string {
  return visibleLine(parts.map((p) => `${p.label} ${p.nodes} (${p.count})`).join(' · '));
}

/** A thin bar of `width` cells: done, failed and skipped in proportion to the targets, the rest waiting. */
export function progressBar(parts: readonly ProgressPart[], width: number): { label: ProgressPart['label']; text: string }[] {
  const total = parts.reduce((a, p) => a + p.count, 0);
  if (total === 0 || width <= 0) return [];
  const out: { label: ProgressPart['label']; text: string }[] = [];
  let used = 0;
  let acc = 0;
  for (const p of parts) {
    acc += p.count;
    const end = Math.round((acc / total) * width);
    if (end > used) out.push({ label: p.label, text: (p.label === 'waiting' ? '─' : '━').repeat(end - used) });
    used = end;
  }
  return out;
}

/** What one event says about its node, as a line of output (undefined: nothing to show). */
function nodeLine(e: VacmEvent): string | undefined {
  switch (e.type) {
    case 'OUTPUT':
      return e.stream === 'stderr' ? `[stderr] ${e.line}` : e.line;
    case 'EXIT':
      return e.code === 0 ? undefined : `[exit ${e.code}${e.signal ? ` ${e.signal}` : ''}]`;
    case 'ERROR':
      return `${e.code}: ${e.message}`;
    case 'COPY':
      return copyLine(e);
    case 'POWER':
      return `power ${e.state}`;
    case 'BOOTDEV':
      return `next boot ${e.device} (${e.persistence}${e.efi ? ', efi' : ''})`;
    case 'IDENTIFY':
      return `identify ${e.state}`;
    case 'PING':
      return e.state === 'up' ? `up ${e.rttMs !== undefined ? e.rttMs.toFixed(3) + 'ms' : ''}`.trim() : `down ${e.reason ?? ''}`.trim();
    case 'STAT':
      return Object.entries(e.stats).map(([k, v]) => `${k}=${v}`).join(' ');
    case 'VAR':
      return `${e.key}=${e.value}`;
    case 'VAR_UNSET':
      return `${e.key} unset`;
    case 'SENSOR':
      return `${e.name} ${e.value} ${e.unit} ${e.status}`;
    case 'SEL':
      return `SEL ${e.id} ${e.time} ${e.sensor}: ${e.event} (${e.direction})`;
    case 'SEL_INFO':
      return `SEL ${e.entries} entries, ${e.freeBytes} bytes free, last add ${e.added}, last erase ${e.erased}`;
    case 'NODELIST':
      return undefined; // listed by the generic branch below
    default:
      return undefined;
  }
}

export interface JobOutput {
  /** per node, its lines in order */
  perNode: Map<string, string[]>;
  /** lines that belong to no node (MODULE, GROUP, HELP, JOB, ...) */
  general: string[];
  /** nodes that reported an error or a non-zero exit */
  failedNodes: Set<string>;
  terminal?: string;
  /** per node, the values its module gathers as a stat (ResultGathering), by stat label */
  stats: Map<string, Map<string, number>>;
  /** the stats' labels and units */
  statUnits: Map<string, string | undefined>;
}

const outputCache = new WeakMap<JobView, JobOutput>();
/** with the module's gather rules: the stat fields kept aside (the per-node view keeps them in its lines) */
const ruledOutputCache = new WeakMap<JobView, JobOutput>();

/**
 * Split a job's events into per-node lines and general lines. With the module's `gather` rules an
 * event's stat field is kept aside (its line is what nodes are grouped by). Cached per (immutable) job view.
 */
export function jobOutput(j: JobView, rules?: ResultGathering): JobOutput {
  const cache = rules ? ruledOutputCache : outputCache;
  const hit = cache.get(j);
  if (hit) return hit;
  const stats = new Map<string, Map<string, number>>();
  const statUnits = new Map<string, string | undefined>();
  const perNode = new Map<string, string[]>();
  const general: string[] = [];
  const failedNodes = new Set<string>();
  let terminal: string | undefined;
  let progress: Extract<VacmEvent, { type: 'PROGRESS' }> | undefined;
  for (const e of j.events) {
    if (e.type === 'ERROR' && e.node !== undefined) failedNodes.add(e.node);
    else if (e.type === 'EXIT' && e.code !== 0) failedNodes.add(e.node);
    if (e.type === 'JOB_COMPLETED') terminal = `completed: ok=${e.ok} failed=${e.failed}`;
    else if (e.type === 'JOB_FAILED') terminal = `failed: ${e.code}: ${e.message}`;
    else if (e.type === 'JOB_CANCELLED') terminal = 'cancelled';
    else if (e.type === 'JOB_STARTED') continue;
    else if (e.type === 'PROGRESS') progress = e; // only the latest is worth a line
    else {
      const node = 'node' in e && e.type !== 'NODELIST' ? (e as { node: string }).node : undefined;
      const stat = rules?.[e.type]?.stat;
      let ev: VacmEvent = e;
      if (node !== undefined && stat && stat.field in e) {
        const v = Number((e as unknown as Record<string, unknown>)[stat.field]);
        if (Number.isFinite(v)) (stats.get(node) ?? stats.set(node, new Map()).get(node)!).set(stat.label, v);
        statUnits.set(stat.label, stat.unit);
        ev = { ...e, [stat.field]: undefined } as VacmEvent;
      }
      const line = node !== undefined ? nodeLine(ev) : undefined;
      if (node !== undefined) {
        if (line !== undefined) {
          const arr = perNode.get(node);
          if (arr) arr.push(line);
          else perNode.set(node, [line]);
        }
      } else {
        const w = toWire(e);
        general.push(w.fields.join('  '));
      }
    }
  }
  if (progress && terminal === undefined) general.push(`${formatBytes(progress.bytes)} of ${formatBytes(progress.total)} copied, ${progress.done}/${progress.nodes} nodes done`);
  if (j.truncated > 0) general.push(`(${j.truncated} more events not kept)`);
  const out = { perNode, general, failedNodes, terminal, stats, statUnits };
  cache.set(j, out);
  return out;
}

/** A row of gathered output; `error` rows (a failed node's group, a failed job's end) take the error colour. */
export interface OutputRow {
  readonly text: string;
  readonly error: boolean;
  /** the folded node set of the group this row belongs to (its header and its lines) */
  readonly nodes?: string;
}

const gatheredCache = new WeakMap<JobView, OutputRow[]>();
const ruledGatheredCache = new WeakMap<JobView, OutputRow[]>();

/**
 * A job's output with identical per-node outputs gathered under folded node sets, the groups of
 * failed nodes first (what went wrong is what the operator looks for); one row per line, controls visible.
 */
export function gatheredJobRows(j: JobView, rules?: ResultGathering): OutputRow[] {
  const cache = rules ? ruledGatheredCache : gatheredCache;
  const hit = cache.get(j);
  if (hit) return hit;
  const o = jobOutput(j, rules);
  // a group's stats (PING's RTT) over its nodes, as min/avg/max lines under it
  const extra = o.statUnits.size === 0 ? undefined : (names: readonly string[]) => {
    const out: string[] = [];
    for (const [label, unit] of o.statUnits) {
      const line = statSummary(names.map((n) => o.stats.get(n)?.get(label) ?? NaN), label, unit);
      if (line) out.push(line);
    }
    return out;
  };
  const rows: OutputRow[] = o.general.map((text) => ({ text, error: false }));
  if (o.perNode.size > 0) {
    const bad: [string, string[]][] = [];
    const good: [string, string[]][] = [];
    for (const entry of o.perNode) (o.failedNodes.has(entry[0]) ? bad : good).push(entry);
    for (const g of gatherOutputs(bad, extra)) for (const text of formatGathered([g])) rows.push({ text, error: true, nodes: g.nodes });
    for (const g of gatherOutputs(good, extra)) for (const text of formatGathered([g])) rows.push({ text, error: false, nodes: g.nodes });
  }
  if (o.terminal) rows.push({ text: o.terminal, error: jobOutcome(j) === 'failed' });
  const shown = rows.map((r) => ({ ...r, text: visibleLine(r.text) }));
  cache.set(j, shown);
  return shown;
}

/** The gathered output's text alone. */
export function gatheredJobLines(j: JobView, rules?: ResultGathering): string[] {
  return gatheredJobRows(j, rules).map((r) => r.text);
}

const perNodeCache = new WeakMap<JobView, string[]>();

/** A job's full output, node by node (`node: line`), without gathering; one row per line, controls visible. */
export function perNodeJobLines(j: JobView): string[] {
  const hit = perNodeCache.get(j);
  if (hit) return hit;
  const o = jobOutput(j);
  const lines = [...o.general];
  const names = [...o.perNode.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const n of names) for (const l of o.perNode.get(n)!) lines.push(`${n}: ${l}`);
  if (o.terminal) lines.push(o.terminal);
  const shown = lines.map(visibleLine);
  perNodeCache.set(j, shown);
  return shown;
}

/** The node each line of `perNodeJobLines` belongs to (undefined for general and terminal lines). */
export function perNodeLineNodes(j: JobView): (string | undefined)[] {
  const o = jobOutput(j);
  const out: (string | undefined)[] = o.general.map(() => undefined);
  const names = [...o.perNode.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const n of names) for (let i = 0; i < o.perNode.get(n)!.length; i++) out.push(n);
  if (o.terminal) out.push(undefined);
  return out;
}

/**
 * A job's request on other nodes: its node-set field replaced (node sets never hold a colon, so the
 * field ends at the first one). Undefined for a request without a node set.
 */
export function requestOn(j: Pick<JobView, 'line' | 'tag' | 'command' | 'targets'>, nodes: string): string | undefined {
  const head = `${j.tag}:${j.command}:`;
  if (j.targets.length === 0 || !j.line.toUpperCase().startsWith(head.toUpperCase())) return undefined;
  const rest = j.line.slice(head.length);
  const i = rest.indexOf(':');
  return head + nodes + (i < 0 ? '' : rest.slice(i));
}

// ---- header --------------------------------------------------------------------------------------

export function formatClock(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---- the visible window of a list ----------------------------------------------------------------

/** First index to show so that `cursor` is visible in a window of `height` rows over `total` items. */
export function windowStart(cursor: number, height: number, total: number, prevStart: number): number {
  if (height <= 0 || total <= height) return 0;
  let start = Math.min(Math.max(0, prevStart), total - height);
  if (cursor < start) start = cursor;
  else if (cursor >= start + height) start = cursor - height + 1;
  return Math.max(0, Math.min(start, total - height));
}

// ---- the overview's rows: one labelled row per rack (or other numbered group) --------------------

/**
 * The groups the overview lays out one labelled row each: the family of groups named `<prefix><n>`
 * (`rack1`, `rack2`, ...) that no node belongs to twice and that holds the most nodes (then the most
 * groups), in natural order. Undefined when no such family has two groups or more.
 */
export interface RowFamily {
  readonly prefix: string;
  /** the family's groups, in natural order */
  readonly groups: readonly string[];
}

export function rowFamily(nodes: readonly NodeView[]): RowFamily | undefined {
  const fams = new Map<string, { groups: Set<string>; nodes: number; clash: boolean }>();
  for (const n of nodes) {
    const seen = new Set<string>();
    for (const g of n.groups) {
      const m = /^(.*?\D)?\d+$/.exec(g);
      if (!m) continue;
      const prefix = m[1] ?? '';
      let f = fams.get(prefix);
      if (!f) fams.set(prefix, (f = { groups: new Set(), nodes: 0, clash: false }));
      f.groups.add(g);
      if (seen.has(prefix)) f.clash = true;
      else {
        seen.add(prefix);
        f.nodes++;
      }
    }
  }
  let best: { prefix: string; groups: Set<string>; nodes: number } | undefined;
  for (const [prefix, f] of fams) {
    if (f.clash || f.groups.size < 2) continue;
    if (!best || f.nodes > best.nodes || (f.nodes === best.nodes && f.groups.size > best.groups.size)) best = { prefix, ...f };
  }
  if (!best) return undefined;
  return { prefix: best.prefix, groups: [...best.groups].sort(naturalCompare) };
}

/** A labelled run of the overview: `count` consecutive nodes of the shown list under `label`. */
export interface OverviewSection {
  readonly label: string;
  readonly count: number;
}

/** Label of the section holding the nodes in none of the family's groups. */
export const OTHER_SECTION = 'other';

/**
 * The shown nodes reordered by the family's groups (each group's nodes keep their order: the sort
 * applies within a row), with one section per group; nodes in none of them last, under `other`.
 */
export function groupByFamily(nodes: readonly NodeView[], family: RowFamily | undefined): { nodes: readonly NodeView[]; sections?: readonly OverviewSection[] } {
  if (!family) return { nodes };
  const member = new Set(family.groups);
  const buckets = new Map<string, NodeView[]>(family.groups.map((g) => [g, []]));
  const other: NodeView[] = [];
  for (const n of nodes) {
    const g = n.groups.find((x) => member.has(x));
    if (g === undefined) other.push(n);
    else buckets.get(g)!.push(n);
  }
  const out: NodeView[] = [];
  const sections: OverviewSection[] = [];
  for (const [label, list] of buckets) {
    if (list.length === 0) continue;
    sections.push({ label, count: list.length });
    for (const n of list) out.push(n);
  }
  if (other.length > 0) {
    sections.push({ label: OTHER_SECTION, count: other.length });
    for (const n of other) out.push(n);
  }
  return { nodes: out, sections };
}

/** One line of the overview: cells [start, end) of the shown list, after `label` (continuation lines: ''). */
export interface OverviewLine {
  readonly label: string;
  readonly start: number;
  readonly end: number;
}

export interface OverviewLayout {
  readonly lines: readonly OverviewLine[];
  /** columns before the cells (the label and a space; 0 without sections) */
  readonly labelWidth: number;
}

const layoutCache = new WeakMap<object, { total: number; width: number; layout: OverviewLayout }>();

/** How `total` cells lay out in `width` columns: wrapped lines, or each section on its own labelled line(s). */
export function overviewLayout(total: number, sections: readonly OverviewSection[] | undefined, width: number): OverviewLayout {
  const key = sections ?? EMPTY_SECTIONS;
  const hit = layoutCache.get(key);
  if (hit && hit.total === total && hit.width === width && sections) return hit.layout;
  const lines: OverviewLine[] = [];
  let labelWidth = 0;
  if (!sections) {
    const per = Math.max(1, width);
    for (let s = 0; s < total; s += per) lines.push({ label: '', start: s, end: Math.min(total, s + per) });
  } else {
    labelWidth = Math.min(12, Math.max(...sections.map((x) => x.label.length))) + 1;
    const per = Math.max(1, width - labelWidth);
    let at = 0;
    for (const sec of sections) {
      for (let s = 0; s < sec.count; s += per) lines.push({ label: s === 0 ? sec.label : '', start: at + s, end: at + Math.min(sec.count, s + per) });
      at += sec.count;
    }
  }
  const layout = { lines, labelWidth };
  if (sections) layoutCache.set(key, { total, width, layout });
  return layout;
}
const EMPTY_SECTIONS: readonly OverviewSection[] = [];

/** The line of the layout that holds cell `i`. */
export function lineOfCell(layout: OverviewLayout, i: number): number {
  const ls = layout.lines;
  let lo = 0;
  let hi = ls.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ls[mid].start <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The cell `lines` lines below (above, when negative) cell `i`, in the same column or the line's last. */
export function cellByLines(layout: OverviewLayout, i: number, lines: number): number {
  if (layout.lines.length === 0) return i;
  const l = lineOfCell(layout, i);
  const col = i - layout.lines[l].start;
  const to = layout.lines[Math.max(0, Math.min(layout.lines.length - 1, l + lines))];
  return Math.min(to.end - 1, to.start + col);
}

/** A node in trouble: down or of unknown state (off is a state someone chose). */
export function inTrouble(n: Pick<NodeView, 'state'>): boolean {
  return n.state === 'down' || n.state === 'unknown';
}

/** The index of the next (dir 1) or previous (-1) node in trouble after `from`, wrapping; undefined when none is. */
export function nextTrouble(nodes: readonly NodeView[], from: number, dir: 1 | -1): number | undefined {
  const n = nodes.length;
  for (let k = 1; k <= n; k++) {
    const i = (((from + dir * k) % n) + n) % n;
    if (inTrouble(nodes[i])) return i;
  }
  return undefined;
}

/** The overview's legend, cut to `width` by dropping its last parts. */
export function overviewLegend(width: number): { text: string; slot?: string }[][] {
  const parts: { text: string; slot?: string }[][] = [
    [{ text: '0-9', slot: 'gradient' }, { text: ' load/CPU' }],
    [{ text: 'X', slot: 'node.down' }, { text: ' down' }],
    [{ text: '.', slot: 'node.off' }, { text: ' off' }],
    [{ text: '?', slot: 'node.unknown' }, { text: ' unknown' }],
    [{ text: 'n/N', slot: 'dim' }, { text: ' next trouble' }],
  ];
  const out: { text: string; slot?: string }[][] = [];
  let used = 0;
  for (const p of parts) {
    const w = p.reduce((a, x) => a + x.text.length, 0) + (out.length ? 2 : 0);
    if (used + w > width) break;
    out.push(p);
    used += w;
  }
  return out;
}
