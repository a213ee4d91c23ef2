/**
 * gomd's clusterSnapshot: one static, self-contained HTML page (inline CSS and SVG, no scripts, no
 * external references) with the cluster summary, group breakdowns, and every node's state, stats
 * and load-history chart. Pure: data in, text out.
 */
import type { NodeView } from '../protocol/module.js';
import type { GroupAggregate, Series } from '../engine/history.js';

export interface SnapshotData {
  cluster: string;
  generatedAt: number;
  /** where the numbers come from, in words */
  source: string;
  nodes: readonly NodeView[];
  counts: { up: number; down: number; off: number; unknown: number };
  /** load history per node (oldest first) */
  history: ReadonlyMap<string, Series>;
  groups: readonly GroupAggregate[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmt(v: unknown, digits = 2, unit = ''): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return `${Number(v.toFixed(digits))}${unit}`;
}

/** A count as digits, whatever it was given (a number from a file is not trusted to be one). */
function count(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '–';
}

function duration(s: unknown): string {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

/** An inline SVG line chart of (t, v) points; gaps (NaN) break the line. */
export function svgChart(ts: readonly number[], vs: readonly number[], o: { width: number; height: number; label?: string; axis?: boolean }): string {
  const { width: w, height: h } = o;
  const pad = o.axis ? 28 : 1;
  const pts = ts.map((t, i) => [t, vs[i]] as const).filter(([, v]) => Number.isFinite(v));
  const title = o.label ? `<title>${escapeHtml(o.label)}</title>` : '';
  if (pts.length === 0) return `<svg class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img">${title}<text x="4" y="${h / 2 + 4}" class="none">no history</text></svg>`;
  const t0 = pts[0][0];
  const t1 = pts[pts.length - 1][0];
  const max = Math.max(1, ...pts.map(([, v]) => v));
  const x = (t: number) => (t1 === t0 ? w - 2 : pad + ((t - t0) / (t1 - t0)) * (w - pad - 2));
  const y = (v: number) => h - 2 - (v / max) * (h - 4 - (o.axis ? 10 : 0));
  const segs: string[] = [];
  let cur: string[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (!Number.isFinite(vs[i])) {
      if (cur.length) segs.push(cur.join(' '));
      cur = [];
      continue;
    }
    cur.push(`${x(ts[i]).toFixed(1)},${y(vs[i]).toFixed(1)}`);
  }
  if (cur.length) segs.push(cur.join(' '));
  const lines = segs.map((p) => (p.includes(' ') ? `<polyline points="${p}"/>` : `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="1.5"/>`)).join('');
  const axis = o.axis
    ? `<text x="2" y="12" class="ax">${fmt(max, 1)}</text><text x="2" y="${h - 2}" class="ax">0</text><text x="${w - 2}" y="${h - 2}" class="ax" text-anchor="end">${new Date(t1).toISOString().slice(11, 16)}Z</text><text x="${pad}" y="${h - 2}" class="ax">${new Date(t0).toISOString().slice(11, 16)}Z</text>`
    : '';
  return `<svg class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img">${title}${axis}<g class="line">${lines}</g></svg>`;
}

/** The mean of every node's series per timestamp: the cluster's load over time. */
function clusterMean(history: ReadonlyMap<string, Series>): { ts: number[]; vs: number[] } {
  const acc = new Map<number, { s: number; n: number }>();
  for (const s of history.values()) {
    s.ts.forEach((t, i) => {
      const v = s.values.load1[i];
      if (!Number.isFinite(v)) return;
      const a = acc.get(t) ?? { s: 0, n: 0 };
      a.s += v;
      a.n++;
      acc.set(t, a);
    });
  }
  const ts = [...acc.keys()].sort((a, b) => a - b);
  return { ts, vs: ts.map((t) => acc.get(t)!.s / acc.get(t)!.n) };
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{margin:0 0 .2em}h2{margin:1.4em 0 .4em;font-size:1.1em}.meta{color:#666}
.counts span{display:inline-block;margin-right:1.2em;font-weight:600}
table{border-collapse:collapse}th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.name,th.name,td.reason{text-align:left}
.st{font-weight:600}.st-up{color:#187a2f}.st-down{color:#b3261e}.st-off{color:#555}.st-unknown{color:#9a6b00}
svg.chart .line polyline{fill:none;stroke:#2b62c4;stroke-width:1.2}svg.chart circle{fill:#2b62c4}
svg.chart .ax,svg.chart .none{font-size:10px;fill:#888}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}th{background:#222}th,td{border-color:#333}}`;

export function renderSnapshotHtml(d: SnapshotData): string {
  const when = new Date(d.generatedAt).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const total = d.nodes.length;
  const mean = clusterMean(d.history);
  const groupRows = d.groups
    .map((g) => `<tr><td class="name">${escapeHtml(g.group)}</td><td>${count(g.nodes)}</td><td>${count(g.reporting)}</td><td>${fmt(g.mean)}</td><td>${fmt(g.min)}</td><td>${fmt(g.max)}</td></tr>`)
    .join('\n');
  const nodeRows = d.nodes
    .map((n) => {
      const s = n.stats ?? {};
      const h = d.history.get(n.name);
      const age = n.statsTs !== undefined ? `${Math.max(0, Math.round((d.generatedAt - n.statsTs) / 1000))} s` : '–';
      // every field escaped, enums too: the saved state they come from is a file (checked on read as well)
      const state = escapeHtml(String(n.state));
      return `<tr id="node-${escapeHtml(n.name)}"><td class="name">${escapeHtml(n.name)}</td><td class="st st-${state}">${state}</td><td class="reason">${escapeHtml(n.state === 'up' ? '' : n.stateReason ?? '')}</td><td>${escapeHtml(String(n.power))}</td>` +
        `<td>${fmt(s.load1)}</td><td>${fmt(s.load5)}</td><td>${fmt(s.load15)}</td><td>${fmt(s.cpu, 1, '%')}</td><td>${fmt(s.mem_used_pct, 1, '%')}</td><td>${fmt(s.disk_used_pct, 1, '%')}</td>` +
        `<td>${duration(s.uptime)}</td><td>${age}</td><td>${svgChart(h?.ts ?? [], h?.values.load1 ?? [], { width: 160, height: 28, label: `${n.name} load1` })}</td></tr>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(d.cluster)} — vacm cluster snapshot ${when}</title>
<style>${CSS}</style></head>
<body>
<h1>${escapeHtml(d.cluster)}</h1>
<p class="meta">cluster snapshot, ${when} · ${escapeHtml(d.source)}</p>
<p class="counts"><span>${total} nodes</span><span class="st-up">${count(d.counts.up)} up</span><span class="st-down">${count(d.counts.down)} down</span><span class="st-off">${count(d.counts.off)} off</span><span class="st-unknown">${count(d.counts.unknown)} unknown</span></p>
<h2>Cluster load (mean load1 over the nodes)</h2>
${svgChart(mean.ts, mean.vs, { width: 800, height: 160, label: 'mean load1', axis: true })}
${d.groups.length ? `<h2>Groups (last hour)</h2>
<table><thead><tr><th class="name">group</th><th>nodes</th><th>reporting</th><th>mean load1</th><th>min</th><th>max</th></tr></thead><tbody>
${groupRows}
</tbody></table>` : ''}
<h2>Nodes</h2>
<table><thead><tr><th class="name">node</th><th>state</th><th class="name">reason</th><th>power</th><th>load1</th><th>load5</th><th>load15</th><th>cpu</th><th>mem</th><th>disk</th><th>uptime</th><th>stats age</th><th>load, last hour</th></tr></thead><tbody>
${nodeRows}
</tbody></table>
</body></html>
`;
}
