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
import { gatherOutputs, formatGathered } from '../protocol/gather.js';
import { visibleLine } from '../protocol/visible.js';

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

export interface RowColumns {
  name: number;
  spark: number;
  /** show CPU and memory columns */
  cpuMem: boolean;
}

/** How wide each column of a nodes-pane row is for a pane of `width` columns. */
export function rowColumns(width: number, names: readonly NodeView[] | number): RowColumns {
  const longest = typeof names === 'number' ? names : names.reduce((m, n) => Math.max(m, n.name.length), 4);
  const name = Math.min(Math.max(longest, 6), 24);
  // mark(1) glyph(1) sp name sp power(3) sp spark sp load(6) [sp cpu(4) sp mem(4)]
  const fixed = 2 + 1 + name + 1 + 3 + 1 + 1 + 6;
  const cpuMem = width - fixed >= 10 + 10;
  // 30 samples (half a minute at 1 Hz) is plenty at a glance, and sparkline glyphs are the costly part of a frame
  const spark = Math.max(0, Math.min(30, width - fixed - (cpuMem ? 10 : 0)));
  return { name, spark, cpuMem };
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
  tail: string;
}

export function nodeRowParts(n: NodeView, cols: RowColumns): RowParts {
  const stale = isStale(n);
  const load = loadOf(n);
  const cpus = num(n.stats?.cpus);
  const power = n.power === 'unknown' ? ' ? ' : n.power === 'on' ? 'on ' : 'off';
  const head = ' ' + fit(visibleLine(n.name), cols.name) + ' ' + power + ' ';
  const spark = cols.spark > 0 ? sparkline(n.loadHistory, cols.spark, cpus) : '';
  let tail = (cols.spark > 0 ? ' ' : '') + (stale || load === undefined ? fitLeft('-', 6) : fitLeft(load.toFixed(2), 6));
  if (cols.cpuMem) {
    const cpu = num(n.stats?.cpu_pct);
    const mem = num(n.stats?.mem_used_pct);
    tail += ' ' + fitLeft(stale || cpu === undefined ? '-' : `${Math.round(cpu)}%`, 4);
    tail += ' ' + fitLeft(stale || mem === undefined ? '-' : `${Math.round(mem)}%`, 4);
  }
  return { head, spark, tail };
}

/** The text of one node row after the state glyph: name, power, sparkline, load, CPU and memory. */
export function formatNodeRow(n: NodeView, cols: RowColumns): string {
  const p = nodeRowParts(n, cols);
  return (p.head + p.spark + p.tail).slice(1);
}

export function rowHeader(cols: RowColumns): string {
  let s = '  ' + fit('NODE', cols.name) + ' PWR ';
  if (cols.spark > 0) s += fit('LOAD (1 min)', cols.spark) + ' ';
  s += fitLeft('LOAD', 6);
  if (cols.cpuMem) s += ' ' + fitLeft('CPU', 4) + ' ' + fitLeft('MEM', 4);
  return s;
}

export type SortKey = 'name' | 'load' | 'state';
export const SORT_KEYS: readonly SortKey[] = ['name', 'load', 'state'];

const STATE_ORDER: Record<NodeState, number> = { down: 0, unknown: 1, off: 2, up: 3 };

/** Nodes sorted for the pane: by name (nodelist order), by load (highest first), or by state (trouble first). */
export function sortNodes(nodes: readonly NodeView[], key: SortKey): readonly NodeView[] {
  if (key === 'name') return nodes;
  const arr = nodes.slice();
  if (key === 'load') arr.sort((a, b) => (loadOf(b) ?? -1) - (loadOf(a) ?? -1));
  else arr.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
  return arr;
}

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
  _canvas: { frame(delimiter?: string): string };
}

const require = createRequire(import.meta.url);
let DrawilleCtor: (new (w: number, h: number) => DrawilleContext) | undefined;

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/**
 * A braille line chart of `samples` (oldest first) in `cols` x `rows` character cells, drawn with
 * blessed-contrib's drawille canvas (without blessed itself). The canvas colours every cell with its
 * own escape; we strip them and colour the chart once, so ink tokenizes a plain string.
 */
export function brailleChart(samples: readonly number[], cols: number, rows: number, max?: number, capacity = 60): string[] {
  if (cols < 2 || rows < 1) return [];
  DrawilleCtor ??= require('drawille-canvas-blessed-contrib') as new (w: number, h: number) => DrawilleContext;
  const w = cols * 2;
  const h = rows * 4;
  const ctx = new DrawilleCtor(w, h);
  // `capacity` samples span the width, newest at the right edge: a young history grows from the right
  const cap = Math.max(2, capacity, samples.length);
  const data = samples.length > cap ? samples.slice(samples.length - cap) : samples;
  const top = max && max > 0 ? Math.max(max, ...data) : Math.max(1e-9, ...data);
  if (data.length > 0) {
    const step = (w - 1) / (cap - 1);
    const x = (i: number) => Math.round((w - 1) - (data.length - 1 - i) * step);
    const y = (v: number) => Math.round((h - 1) - (Math.max(0, v) / top) * (h - 1));
    ctx.strokeStyle = 'normal';
    ctx.beginPath();
    ctx.moveTo(x(0), y(data[0]));
    if (data.length === 1) ctx.lineTo(Math.max(0, x(0) - 1), y(data[0]));
    for (let i = 1; i < data.length; i++) ctx.lineTo(x(i), y(data[i]));
    ctx.stroke();
  }
  const lines = ctx._canvas.frame('\n').replace(ANSI_RE, '').split('\n');
  lines.pop();
  return lines;
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

/** `#12 ✔ POWER:OFF:sim[001-002]  2/2  0.4s  completed`: the request keeps room first, the state word goes last. */
export function formatJobLine(j: JobView, now: number, width: number): string {
  const total = j.targets.length;
  const progress = total > 0 ? `${j.done}/${total}` : `${j.done}`;
  const dur = formatDuration((j.endedAt ?? now) - j.startedAt);
  let state: string = j.state;
  if (j.state === 'completed' && j.failed > 0) state = `completed, ${j.failed} failed`;
  if (j.state === 'failed' && j.error) state = `failed: ${j.error.code}`;
  const o = jobOutcome(j);
  const head = `#${j.id} ${j.state === 'queued' ? JOB_GLYPH.queued : OUTCOME_GLYPH[o]} `;
  const room = Math.max(12, width - head.length - progress.length - 2);
  const line = visibleLine(j.line);
  return `${head}${fit(line, Math.min(room, line.length))}  ${progress}  ${dur}  ${state}`;
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
}

const outputCache = new WeakMap<JobView, JobOutput>();

/** Split a job's events into per-node lines and general lines. Cached per (immutable) job view. */
export function jobOutput(j: JobView): JobOutput {
  const hit = outputCache.get(j);
  if (hit) return hit;
  const perNode = new Map<string, string[]>();
  const general: string[] = [];
  const failedNodes = new Set<string>();
  let terminal: string | undefined;
  for (const e of j.events) {
    if (e.type === 'ERROR' && e.node !== undefined) failedNodes.add(e.node);
    else if (e.type === 'EXIT' && e.code !== 0) failedNodes.add(e.node);
    if (e.type === 'JOB_COMPLETED') terminal = `completed: ok=${e.ok} failed=${e.failed}`;
    else if (e.type === 'JOB_FAILED') terminal = `failed: ${e.code}: ${e.message}`;
    else if (e.type === 'JOB_CANCELLED') terminal = 'cancelled';
    else if (e.type === 'JOB_STARTED') continue;
    else {
      const node = 'node' in e && e.type !== 'NODELIST' ? (e as { node: string }).node : undefined;
      const line = node !== undefined ? nodeLine(e) : undefined;
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
  if (j.truncated > 0) general.push(`(${j.truncated} more events not kept)`);
  const out = { perNode, general, failedNodes, terminal };
  outputCache.set(j, out);
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

/**
 * A job's output with identical per-node outputs gathered under folded node sets, the groups of
 * failed nodes first (what went wrong is what the operator looks for); one row per line, controls visible.
 */
export function gatheredJobRows(j: JobView): OutputRow[] {
  const hit = gatheredCache.get(j);
  if (hit) return hit;
  const o = jobOutput(j);
  const rows: OutputRow[] = o.general.map((text) => ({ text, error: false }));
  if (o.perNode.size > 0) {
    const bad: [string, string[]][] = [];
    const good: [string, string[]][] = [];
    for (const entry of o.perNode) (o.failedNodes.has(entry[0]) ? bad : good).push(entry);
    for (const g of gatherOutputs(bad)) for (const text of formatGathered([g])) rows.push({ text, error: true, nodes: g.nodes });
    for (const g of gatherOutputs(good)) for (const text of formatGathered([g])) rows.push({ text, error: false, nodes: g.nodes });
  }
  if (o.terminal) rows.push({ text: o.terminal, error: jobOutcome(j) === 'failed' });
  const shown = rows.map((r) => ({ ...r, text: visibleLine(r.text) }));
  gatheredCache.set(j, shown);
  return shown;
}

/** The gathered output's text alone. */
export function gatheredJobLines(j: JobView): string[] {
  return gatheredJobRows(j).map((r) => r.text);
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
