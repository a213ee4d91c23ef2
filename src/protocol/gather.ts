/**
 * Output gathering, ClusterShell `-b` style: nodes whose output is identical are merged under one
 * folded node set with their count, e.g. `node[001-062] (62)`. Pure; used by `vacm ipc` and the jobs pane.
 */
import { foldNodeSet } from './nodeset.js';

export interface GatheredGroup {
  /** folded node set */
  nodes: string;
  count: number;
  lines: readonly string[];
}

/** Gather per-node outputs (node → its lines, in order). Groups are sorted by their node set. */
export function gatherOutputs(outputs: Iterable<readonly [string, readonly string[]]>): GatheredGroup[] {
  const byText = new Map<string, { names: string[]; lines: readonly string[] }>();
  for (const [node, lines] of outputs) {
    const key = lines.join('\n');
    const g = byText.get(key);
    if (g) g.names.push(node);
    else byText.set(key, { names: [node], lines });
  }
  const groups = [...byText.values()].map((g) => ({ nodes: foldNodeSet(g.names), count: g.names.length, lines: g.lines }));
  groups.sort((a, b) => (a.nodes < b.nodes ? -1 : a.nodes > b.nodes ? 1 : 0));
  return groups;
}

/** `node[001-062] (62): line` headers with the lines indented beneath, as text lines. */
export function formatGathered(groups: readonly GatheredGroup[], opts: { rule?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const g of groups) {
    const head = `${g.nodes} (${g.count})`;
    if (opts.rule) out.push('-'.repeat(Math.min(Math.max(head.length, 15), 78)));
    out.push(head);
    if (opts.rule) out.push('-'.repeat(Math.min(Math.max(head.length, 15), 78)));
    if (g.lines.length === 0) out.push(opts.rule ? '(no output)' : '  (no output)');
    for (const l of g.lines) out.push(opts.rule ? l : `  ${l}`);
  }
  return out;
}
