/**
 * The overview: one ASCII cell per node, its colour runs, the rows by rack (or another numbered
 * group family), moving between lines and to the next node in trouble, and the legend. Pure.
 */
import type { NodeView } from '../protocol/module.js';
import { naturalCompare } from '../protocol/gather.js';
import { loadOf, num } from './format-node.js';

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
