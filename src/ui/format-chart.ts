/**
 * The detail pane's braille load chart, drawn with blessed-contrib's drawille canvas into plain strings.
 */
import { createRequire } from 'node:module';
import { fitLeft } from './format-text.js';

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
